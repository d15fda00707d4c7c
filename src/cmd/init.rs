//! `trmctl init`: a commented starter config and an empty database, then what to do next.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::Context;
use crate::config::Config;

/// The config `init` writes: every section present, the integrations as commented examples.
pub const STARTER_CONFIG: &str = include_str!("../templates/config.toml");

/// Paths as text (a path that is not UTF-8 is shown with replacement characters).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    config: String,
    config_created: bool,
    database: String,
}

pub fn run(ctx: &Context) -> Result<ExitCode> {
    let source = ctx.config_source()?;
    let created = write_new(&source.path, STARTER_CONFIG)?;
    // A failed init leaves nothing behind: the config it wrote goes again.
    let database = prepare(ctx, &source).inspect_err(|_| {
        if created {
            let _ = std::fs::remove_file(&source.path);
        }
    })?;
    if ctx.out.json {
        ctx.out.json(&Report {
            config: source.path.to_string_lossy().into_owned(),
            config_created: created,
            database: database.to_string_lossy().into_owned(),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let config_line = if created {
        format!("Wrote a commented config to {}", source.path.display())
    } else {
        format!("Kept the existing config {}", source.path.display())
    };
    let flag = match &ctx.global.config {
        Some(path) => format!(" --config {}", path.display()),
        None => String::new(),
    };
    ctx.out.text(&format!(
        "{config_line}\nDatabase ready at {}\n\nNext:\n  \
         1. Add integrations to the config (config.example.toml documents every key).\n  \
         2. Check it:            trmctl{flag} config check\n  \
         3. See the registry:    trmctl{flag} integrations list\n  \
         4. Watch events arrive: trmctl{flag} events tail --follow",
        database.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Creates the database the config names, with the registry; its path.
fn prepare(ctx: &Context, source: &crate::config::Source) -> Result<std::path::PathBuf> {
    let config = Config::load(&crate::config::Source {
        explicit: true,
        ..source.clone()
    })?;
    let mut store = ctx.store(&config)?;
    crate::registry::sync(&config, &mut store)?;
    crate::paths::database(&config)
}

/// Writes `text` to `path` unless a file is already there; returns whether it wrote.
fn write_new(path: &Path, text: &str) -> Result<bool> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            std::io::Write::write_all(&mut file, text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn starter_config_is_valid() {
        crate::config::Config::parse(super::STARTER_CONFIG, std::path::Path::new("starter"))
            .unwrap();
    }
}
