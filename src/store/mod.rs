//! The SQLite store: the one module that owns SQL.
//!
//! One database file holds the registry's runtime state, events, the webhook inbox, cursors
//! and account metadata. It runs in WAL mode with `synchronous=FULL`, so a committed
//! transaction is on disk, and is created `0600` in a `0700` directory because it holds the
//! user's mail subjects and more.

mod accounts;
mod actions;
mod deliveries;
mod events;
mod gave_up;
mod outbox;
mod polls;
mod registry;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{M, Migrations};

use crate::error::{Code, Exit};

pub use accounts::{AccountRow, mark_reauth};
pub use actions::{ActionRecord, ActionState, ActionVersion, GaveUp};
pub use deliveries::{
    DeadLetter, Delivery, Enqueued, NewDelivery, due_attempts, enqueue, fail as fail_delivery,
    finish as finish_delivery,
};
pub use events::{EventFilter, StoredEvent, insert_event, record_event};
pub use gave_up::{Follower, GaveUpCount, GaveUpOn};
pub use outbox::{Retry, SinkFilter, SinkState, events_stored};
pub use polls::PollOutcome;
pub use registry::IntegrationRow;

/// The numbered migrations, applied in order; `PRAGMA user_version` records the last one.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_secret_names.sql"),
    include_str!("migrations/0003_sinks.sql"),
    include_str!("migrations/0004_actions.sql"),
    include_str!("migrations/0005_action_versions.sql"),
    include_str!("migrations/0006_action_dead_letters.sql"),
    include_str!("migrations/0007_sink_unanswered.sql"),
    include_str!("migrations/0008_action_unanswered.sql"),
    include_str!("migrations/0009_action_unanswered_in_a_row.sql"),
];

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// Brings the schema up to date. Two processes may start on a new database at once (a timer's
/// `poll` and `serve`); the loser's migration fails and rolls back, and the schema the winner
/// wrote is then current, which is success.
fn migrate(conn: &mut Connection) -> Result<()> {
    let migrations = migrations();
    match migrations.to_latest(conn) {
        Ok(()) => Ok(()),
        Err(_) if migrations.pending_migrations(conn)? == 0 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// An open database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The files the connection writes, as they were once it was open.
    opened: Files,
}

/// Which files the database and its WAL were: `(device, inode)`, `None` where there was no
/// file (or no way to tell).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Files {
    db: Option<(u64, u64)>,
    wal: Option<(u64, u64)>,
}

impl Files {
    fn at(path: &Path) -> Files {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        Files {
            db: file_id(path),
            wal: file_id(Path::new(&wal)),
        }
    }
}

#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &Path) -> Option<(u64, u64)> {
    None
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with(path, DEFAULT_BUSY_TIMEOUT)
    }

    /// [`Store::open`] with how long a write waits for another writer.
    pub fn open_with(path: &Path, busy_timeout: Duration) -> Result<Store> {
        prepare_file(path)?;
        // Not SQLite's default flags: with URI names on, `file:/x.db` would open `/x.db` while
        // `prepare_file` made `./file:/x.db` private.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)
            .with_context(|| format!("opening database {}", path.display()))?;
        wait_when_busy(&conn, busy_timeout)?;
        check_ours(&conn, path)?;
        configure_patiently(&conn, busy_timeout)
            .with_context(|| format!("configuring database {}", path.display()))?;
        migrate(&mut conn).with_context(|| format!("migrating database {}", path.display()))?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            opened: Files::at(path),
        })
    }

    /// Fails when the database or its WAL at the path is no longer the file this connection
    /// writes: deleted, moved, or replaced by a restored copy while trmctl ran. What it
    /// commits then goes to a file no one will read again.
    pub fn check_in_place(&self) -> Result<()> {
        let now = Files::at(&self.path);
        let moved =
            now.db != self.opened.db || (self.opened.wal.is_some() && now.wal != self.opened.wal);
        if moved {
            bail!(
                "the database {} (or its -wal file) was deleted or replaced while trmctl had \
                 it open: nothing written now would be kept; restart trmctl",
                self.path.display()
            );
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Proves the database takes a write lock right now, on the file at its path (for
    /// `/readyz`).
    pub fn check_writable(&self) -> Result<()> {
        self.check_in_place()?;
        self.conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")?;
        Ok(())
    }

    /// Proves a write reaches the disk, which the lock alone does not (a full disk still gives
    /// it): commits the schema version rewritten with its own value.
    pub fn check_commit(&self) -> Result<()> {
        self.check_in_place()?;
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        self.conn.pragma_update(None, "user_version", version)?;
        Ok(())
    }

    /// Whether `query` (a `SELECT 1 …`) finds a row for each of `rows`. Commands that only
    /// read (`status`, `integrations list`) check so before an upkeep write, and then take no
    /// write lock at all, never waiting behind `serve`'s writes.
    pub(super) fn all_exist<P: rusqlite::Params>(
        &self,
        query: &str,
        rows: impl IntoIterator<Item = P>,
    ) -> Result<bool> {
        let mut exists = self.conn.prepare_cached(query)?;
        for row in rows {
            if !exists.exists(row)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Runs `f` in one immediate transaction: all of it commits, or none of it. A commit that
    /// stored events wakes this process's sinks ([`events_stored`]).
    pub fn transaction<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction) -> Result<T>,
    ) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        outbox::transaction_started();
        let value = f(&tx)?;
        tx.commit()?;
        outbox::transaction_committed();
        Ok(value)
    }
}

/// Applies `change` to each id once, as a lower-case UUID (one pasted in capitals, or twice, is
/// one id); the ids changed. If it changes nothing for some, the error is `message` with them
/// in place of its `{}` (exit 2): returned inside a transaction, it rolls all of it back.
fn change_each(
    ids: Vec<String>,
    mut change: impl FnMut(&str) -> Result<bool>,
    message: &str,
) -> Result<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut changed = Vec::new();
    let mut missing = Vec::new();
    for id in ids.iter().map(|id| id.to_ascii_lowercase()) {
        if !seen.insert(id.clone()) {
            continue;
        }
        if change(&id)? {
            changed.push(id);
        } else {
            missing.push(id);
        }
    }
    if missing.is_empty() {
        Ok(changed)
    } else {
        let missing = missing.join(", ");
        Err(crate::error::Exit::usage(message.replacen("{}", &missing, 1)).into())
    }
}

/// How long a write waits for another writer unless the config says otherwise.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a write may wait for the lock, shared by the busy handler of every connection
/// (one process has one config).
static BUSY_BUDGET_MICROS: AtomicU64 = AtomicU64::new(10_000_000);
/// How long the busy handler sleeps between tries.
const BUSY_STEP: Duration = Duration::from_micros(250);

/// Waits for another connection's write in short steps. SQLite's own handler sleeps up to
/// 100 ms a try, so a writer that lost a race idles long after the lock is free; under load
/// that idling, not the disk, would bound the inbox's throughput. The budget is measured on
/// the clock: a sleep of 250 µs takes longer, so counting tries would wait too long.
fn busy_wait(tries: i32) -> bool {
    thread_local! {
        static SINCE: std::cell::Cell<Option<std::time::Instant>> = const { std::cell::Cell::new(None) };
    }
    let now = std::time::Instant::now();
    let since = SINCE.with(|since| {
        if tries == 0 || since.get().is_none() {
            since.set(Some(now));
        }
        since.get().unwrap_or(now)
    });
    let waited = u64::try_from(now.duration_since(since).as_micros()).unwrap_or(u64::MAX);
    if waited >= BUSY_BUDGET_MICROS.load(Ordering::Relaxed) {
        return false;
    }
    std::thread::sleep(BUSY_STEP);
    true
}

/// Makes writes wait up to `busy_timeout` for another process's write.
fn wait_when_busy(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    BUSY_BUDGET_MICROS.store(
        u64::try_from(busy_timeout.as_micros()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    conn.busy_handler(Some(busy_wait))
}

/// [`configure`], retried while another process is creating the same database: switching a
/// new file to WAL needs an exclusive lock, and SQLite reports that race as busy at once
/// instead of calling the busy handler.
fn configure_patiently(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    loop {
        match configure(conn) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < busy_timeout =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// What the WAL file is cut back to once a checkpoint has emptied it. A reader that holds a
/// snapshot (an open `sqlite3` shell, a backup) keeps checkpoints from finishing, so the WAL
/// grows by every commit meanwhile; without a limit the file kept that size for good.
const WAL_SIZE_LIMIT: i64 = 64 << 20;

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Refuses, before changing anything, a database this trmctl must not touch: one a newer
/// trmctl wrote (its schema would be misread), or another program's (migrating it would add
/// tables to it and switch it to WAL).
fn check_ours(conn: &Connection, path: &Path) -> Result<()> {
    // One statement, one snapshot: another process may be migrating this new file right now,
    // and its tables and its version commit together.
    let (version, objects): (i64, i64) = conn.query_row(
        "SELECT (SELECT user_version FROM pragma_user_version),
                (SELECT count(*) FROM sqlite_schema)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(Exit::new(
            Code::Failure,
            format!(
                "database {} has schema version {version}, newer than this trmctl knows \
                 ({known}): upgrade trmctl",
                path.display()
            ),
        )
        .into());
    }
    if version == 0 && objects > 0 {
        return Err(Exit::usage(format!(
            "{} is not a trmctl database (another program's tables are in it): point \
             [store] path or $TRMCTL_DB at a new file",
            path.display()
        ))
        .into());
    }
    Ok(())
}

/// Creates the directory `0700` and the file `0600` before SQLite touches them, so the
/// database is never readable by others, not even for a moment. SQLite gives the `-wal` and
/// `-shm` files the database file's mode.
///
/// An existing database is never opened here: closing any descriptor of a file drops every
/// POSIX lock the process holds on it, SQLite's included, and without them another process
/// would take this one's WAL for its own and delete it on close. (Only a file that does not
/// exist yet is opened, before this process has a connection to it.)
fn prepare_file(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        create_private_dir(dir).with_context(|| format!("creating directory {}", dir.display()))?;
    }
    if path.is_dir() {
        bail!("the database path {} is a directory", path.display());
    }
    if path.exists() {
        return Ok(());
    }
    // Not `create_new`: through a symlink to a file not made yet, that fails, and SQLite would
    // then create the file with the default mode.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map(drop)
        .with_context(|| format!("creating database {}", path.display()))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_or_foreign_database_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let newer = format!("newer than this trmctl knows ({})", MIGRATIONS.len());
        for (name, setup, why) in [
            ("newer.db", "PRAGMA user_version = 99;", newer.as_str()),
            (
                "foreign.db",
                "CREATE TABLE notes (body TEXT);",
                "not a trmctl database",
            ),
        ] {
            let path = dir.path().join(name);
            Connection::open(&path)
                .unwrap()
                .execute_batch(setup)
                .unwrap();
            let err = format!("{:#}", Store::open(&path).err().expect("refused"));
            assert!(err.contains(why), "{err}");
            let conn = Connection::open(&path).unwrap();
            let mode: String = conn
                .pragma_query_value(None, "journal_mode", |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "delete", "not switched to WAL");
            let tables: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
                .unwrap();
            assert!(tables <= 1, "no tables added");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_database_made_through_a_symlink_is_private_and_a_directory_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (link, target) = (dir.path().join("link.db"), dir.path().join("target.db"));
        std::os::unix::fs::symlink(&target, &link).unwrap();
        drop(Store::open(&link).unwrap());
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let err = format!("{:#}", Store::open(dir.path()).err().expect("refused"));
        assert!(err.contains("is a directory"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_database_deleted_or_replaced_under_an_open_store_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::open(&path).unwrap();
        store.check_commit().unwrap();
        // Restored from a copy: another file at the same path.
        let copy = dir.path().join("copy.db");
        std::fs::copy(&path, &copy).unwrap();
        std::fs::rename(&copy, &path).unwrap();
        let err = format!("{:#}", store.check_writable().unwrap_err());
        assert!(err.contains("deleted or replaced"), "{err}");

        let other = dir.path().join("u.db");
        let store = Store::open(&other).unwrap();
        std::fs::remove_file(dir.path().join("u.db-wal")).unwrap();
        assert!(store.check_in_place().is_err(), "the WAL is gone");
    }

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    #[test]
    fn migration_files_are_numbered_in_order() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/migrations");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names.len(),
            MIGRATIONS.len(),
            "every file is listed in MIGRATIONS"
        );
        for (i, name) in names.iter().enumerate() {
            assert!(
                name.starts_with(&format!("{:04}_", i + 1)) && name.ends_with(".sql"),
                "{name} is not migration {}",
                i + 1
            );
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            assert_eq!(text, MIGRATIONS[i], "MIGRATIONS[{i}] is {name}");
        }
    }

    #[test]
    fn concurrent_first_opens_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("race.db");
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || Store::open(&path).map(|_| ()))
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
    }

    #[test]
    fn open_sets_wal_modes_and_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/state/trmctl.db");
        let store = Store::open(&path).unwrap();
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = store
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "FULL");
        let limit: i64 = store
            .conn
            .pragma_query_value(None, "journal_size_limit", |r| r.get(0))
            .unwrap();
        assert_eq!(limit, WAL_SIZE_LIMIT);
        let fk: i64 = store
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        drop(store);
        Store::open(&path).expect("reopening is a no-op migration");
    }

    #[cfg(unix)]
    #[test]
    fn database_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/trmctl.db");
        let _store = Store::open(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let wal = path.with_extension("db-wal");
        assert_eq!(mode(&wal), 0o600);
    }
}
