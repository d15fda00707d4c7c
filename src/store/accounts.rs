//! Account metadata (never tokens): email, granted scopes, token expiry, status, and where the
//! refresh token is kept; plus the names of keyring entries trmctl wrote.

use anyhow::Result;
use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::event::{format_time, now};

/// What the database knows about one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub name: String,
    pub provider: String,
    pub email: Option<String>,
    /// Space-separated, as granted.
    pub scopes: String,
    pub token_expires_at: Option<String>,
    /// `active` or `reauthRequired`.
    pub status: String,
    pub secret_location: Option<String>,
    pub updated_at: String,
}

const COLUMNS: &str =
    "name, provider, email, scopes, token_expires_at, status, secret_location, updated_at";

fn from_row(row: &rusqlite::Row) -> rusqlite::Result<AccountRow> {
    Ok(AccountRow {
        name: row.get(0)?,
        provider: row.get(1)?,
        email: row.get(2)?,
        scopes: row.get(3)?,
        token_expires_at: row.get(4)?,
        status: row.get(5)?,
        secret_location: row.get(6)?,
        updated_at: row.get(7)?,
    })
}

impl Store {
    /// Records a fresh authorization: the account is active again.
    pub fn save_account(&mut self, row: &AccountRow) -> Result<()> {
        self.conn.execute(
            "INSERT INTO accounts (name, provider, email, scopes, token_expires_at, status, secret_location, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (name) DO UPDATE SET provider = excluded.provider, email = excluded.email,
                 scopes = excluded.scopes, token_expires_at = excluded.token_expires_at,
                 status = excluded.status, secret_location = excluded.secret_location,
                 updated_at = excluded.updated_at",
            params![
                row.name,
                row.provider,
                row.email,
                row.scopes,
                row.token_expires_at,
                row.status,
                row.secret_location,
                row.updated_at
            ],
        )?;
        Ok(())
    }

    pub fn account(&self, name: &str) -> Result<Option<AccountRow>> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE name = ?1");
        Ok(self.conn.query_row(&sql, [name], from_row).optional()?)
    }

    pub fn accounts(&self) -> Result<Vec<AccountRow>> {
        let sql = format!("SELECT {COLUMNS} FROM accounts ORDER BY name");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records a refresh that worked: the access token's expiry, and the account is active
    /// (again, after a replaced `file:`/`credential:` token). An account authorized on another
    /// machine gets its row here, so `auth status` knows it.
    pub fn record_refresh(&mut self, name: &str, expires_at: &str, location: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO accounts (name, provider, token_expires_at, status, secret_location, updated_at)
             VALUES (?1, 'google', ?2, 'active', ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET token_expires_at = excluded.token_expires_at,
                 status = 'active', updated_at = excluded.updated_at",
            params![name, expires_at, location, format_time(&now())],
        )?;
        Ok(())
    }

    pub fn delete_account(&mut self, name: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM accounts WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Remembers that trmctl wrote this keyring entry (the name only).
    pub fn remember_secret(&mut self, name: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO secret_names (name, updated_at) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at",
            params![name, format_time(&now())],
        )?;
        Ok(())
    }

    pub fn forget_secret(&mut self, name: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM secret_names WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Keyring entries trmctl wrote, by name.
    pub fn secret_names(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM secret_names ORDER BY name")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Marks an account `reauthRequired` inside the caller's transaction (creating its row when it
/// was authorized elsewhere, from an `env:`/`file:`/`credential:` refresh token); returns
/// whether it was not so until now (so the caller records one `reauthRequired` event per
/// transition).
pub fn mark_reauth(conn: &rusqlite::Connection, name: &str) -> Result<bool> {
    let changed = conn.execute(
        "INSERT INTO accounts (name, provider, status, updated_at) VALUES (?1, 'google', 'reauthRequired', ?2)
         ON CONFLICT (name) DO UPDATE SET status = 'reauthRequired', updated_at = excluded.updated_at
         WHERE accounts.status <> 'reauthRequired'",
        params![name, format_time(&now())],
    )?;
    Ok(changed == 1)
}
