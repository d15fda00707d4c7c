//! `trmctl completions SHELL`: completions on stdout (the same text as `completions/`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

pub fn run(shell: clap_complete::Shell) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    out.write_all(&crate::docs::completions(shell))?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
