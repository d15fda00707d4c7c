//! Where trmctl keeps its files: the config and the database, by flag, environment variable or
//! XDG directory (SPEC §3).

use std::path::PathBuf;

use anyhow::{Result, anyhow};

use crate::config::{Config, Source};

/// The config file: `--config`, else `$TRMCTL_CONFIG`, else
/// `$XDG_CONFIG_HOME/trmctl/config.toml`.
pub fn config_source(flag: Option<PathBuf>) -> Result<Source> {
    // An empty $TRMCTL_CONFIG (`Environment=TRMCTL_CONFIG=` in a unit) is unset, as for
    // $TRMCTL_DB.
    let named = flag.or_else(|| {
        std::env::var_os("TRMCTL_CONFIG")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    });
    if let Some(path) = named {
        return Ok(Source {
            path,
            explicit: true,
        });
    }
    Ok(Source {
        path: xdg_dir("XDG_CONFIG_HOME", ".config")?.join("config.toml"),
        explicit: false,
    })
}

/// The database: `[store] path`, else `$TRMCTL_DB`, else `$XDG_DATA_HOME/trmctl/trmctl.db`.
pub fn database(config: &Config) -> Result<PathBuf> {
    if let Some(path) = &config.store.path {
        return Ok(path.clone());
    }
    if let Some(path) = std::env::var_os("TRMCTL_DB").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_absolute() {
            // As for `[store] path`: cron and systemd would each open their own.
            return Err(crate::error::Exit::usage(format!(
                "$TRMCTL_DB must be an absolute path, not {}",
                path.display()
            ))
            .into());
        }
        return Ok(path);
    }
    Ok(xdg_dir("XDG_DATA_HOME", ".local/share")?.join("trmctl.db"))
}

/// Opens the database the config names, with its busy timeout.
pub fn open_store(config: &Config) -> Result<crate::store::Store> {
    crate::store::Store::open_with(&database(config)?, config.store.busy_timeout)
}

/// Opens (creating it and its directory) the lock file `<database dir>/locks/<name>.lock`.
/// Callers take an exclusive advisory lock on it; closing the file releases the lock, so a
/// process that dies never leaves a stale one.
pub fn lock_file(db: &std::path::Path, name: &str) -> Result<std::fs::File> {
    use anyhow::Context;
    let dir = db
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("locks");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{name}.lock"));
    std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))
}

/// `$VAR/trmctl` when the variable holds an absolute path (the XDG rule), else
/// `$HOME/<fallback>/trmctl`.
fn xdg_dir(var: &str, fallback: &str) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
    {
        return Ok(dir.join("trmctl"));
    }
    let home = directories::BaseDirs::new()
        .map(|dirs| dirs.home_dir().to_path_buf())
        .ok_or_else(|| anyhow!("cannot find the home directory; set {var} or use --config"))?;
    Ok(home.join(fallback).join("trmctl"))
}
