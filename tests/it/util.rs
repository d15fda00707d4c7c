//! A sandbox per test: a temp dir holding the config and the database, and a `trmctl` command
//! whose every path variable points inside it.

use std::path::PathBuf;

use assert_cmd::Command;
use tempfile::TempDir;
use trmctl::event::{Event, EventType};
use trmctl::store::Store;

pub struct Sandbox {
    pub dir: TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A sandbox with this config written at the default config path.
    pub fn with_config(text: &str) -> Sandbox {
        let sandbox = Sandbox::new();
        sandbox.write_config(text);
        sandbox
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config/trmctl/config.toml")
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("data/trmctl/trmctl.db")
    }

    pub fn write_config(&self, text: &str) {
        let path = self.config_path();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// `trmctl` with XDG paths, HOME and nothing else of the caller's environment that trmctl reads.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// The same, as a plain process command (to spawn and wait later).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("trmctl"));
        cmd.current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("NO_COLOR", "1")
            .env_remove("TRMCTL_CONFIG")
            .env_remove("TRMCTL_DB")
            .env_remove("RUST_LOG");
        cmd
    }

    /// Runs trmctl with `args` (ending in `--json`) on this sandbox; its stdout as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        json(&self.cmd().args(args).output().unwrap())
    }

    /// The sandbox's database, opened through the library.
    pub fn store(&self) -> Store {
        Store::open(&self.db_path()).unwrap()
    }

    /// Records `account` as authorized (as `auth google` would, without its tokens), so that
    /// `status` finds nothing to ask of the user.
    pub fn mark_authorized(&self, account: &str) {
        self.mark_account(account, "active");
    }

    /// An account row with this status, as `auth google` or a refused refresh leaves one.
    pub fn mark_account(&self, account: &str, status: &str) {
        self.store()
            .transaction(|tx| {
                tx.execute(
                    "INSERT INTO accounts (name, provider, status, updated_at)
                     VALUES (?1, 'google', ?2, '2026-01-01T00:00:00Z')",
                    [account, status],
                )?;
                Ok(())
            })
            .unwrap();
    }

    /// The stored events, newest first: all of them, or one integration's.
    pub fn events(&self, integration: Option<&str>) -> Vec<Event> {
        self.store()
            .list_events(&trmctl::store::EventFilter {
                integration: integration.map(str::to_string),
                limit: 100_000,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|s| s.event)
            .collect()
    }

    /// Stores base events `(integration, type, dedupe key, subject)` in one transaction.
    pub fn add_events(&self, events: &[(&str, EventType, &str, &str)]) -> Vec<Event> {
        let mut store = self.store();
        let events: Vec<Event> = events
            .iter()
            .map(|(integration, event_type, key, subject)| {
                let mut e = Event::new(
                    *event_type,
                    integration,
                    "test",
                    key.to_string(),
                    trmctl::event::now(),
                );
                e.subject = Some(subject.to_string());
                e
            })
            .collect();
        store
            .transaction(|tx| {
                for e in &events {
                    trmctl::store::insert_event(tx, e)?;
                }
                Ok(())
            })
            .unwrap();
        events
    }
}

/// Parses stdout as JSON.
pub fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// A config with one integration of each family, for registry and event tests.
pub const CONFIG: &str = r#"
[accounts.founder]
provider = "google"
client_id = "id.apps.googleusercontent.com"

[integrations.founder-gmail]
kind = "gmail"
account = "founder"
interval = "5m"

[integrations.github-repo]
kind = "github"
secret = "env:GITHUB_SECRET"
"#;

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The first line a child prints on its piped stdout; the pipe is closed after it, as
/// `| head -1` does.
pub fn first_line(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line
}
