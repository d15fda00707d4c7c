//! `trmctl completions SHELL`: completions on stdout (the same text as `completions/`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

pub fn run(shell: clap_complete::Shell) -> Result<ExitCode> {
    let text = crate::docs::completions(shell);
    crate::output::to_stdout(|out| out.write_all(&text))?;
    Ok(ExitCode::SUCCESS)
}
