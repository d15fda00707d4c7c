//! `trmctl`: parse the command line, set up logging, run the command, turn the result into an
//! exit code (SPEC §4). A closed stdout ends quietly with 0.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use trmctl::cli::{Cli, ColorWhen, Command};
use trmctl::error::{Outcome, classify};

/// mimalloc instead of the system allocator: `serve` allocates per request on many threads,
/// where glibc's malloc spends a measurable share of the ingest path (see bench/webhooks.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let stderr_color = match cli.global.color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let daemon = matches!(cli.command, Command::Serve);
    let json = cli.global.json;
    let result = {
        let _logging = trmctl::logging::init(&cli.global, stderr_color, daemon);
        trmctl::cmd::run(cli)
        // Dropping the guard writes out the buffered log lines before the error line below.
    };
    match result {
        Ok(code) => code,
        Err(err) => match classify(&err) {
            Outcome::Quiet(code) => code,
            Outcome::Report {
                code,
                json_document,
            } => {
                let message = format!("{err:#}");
                if json && json_document {
                    let report = serde_json::json!({ "error": message, "exitCode": code as u8 });
                    // stdout may be the closed pipe that failed; nothing more to say then.
                    let _ = trmctl::output::Output::new(true, ColorWhen::Never).json(&report);
                }
                let prefix = if stderr_color {
                    "\x1b[1;31merror:\x1b[0m"
                } else {
                    "error:"
                };
                trmctl::output::note(&format!("{prefix} {message}"));
                ExitCode::from(code as u8)
            }
        },
    }
}

/// The command line, with clap's own help and errors coloured as `--color` says.
fn parse() -> Result<Cli, clap::Error> {
    let color = match flag_value("--color").as_deref() {
        Some("always") => clap::ColorChoice::Always,
        Some("never") => clap::ColorChoice::Never,
        _ => clap::ColorChoice::Auto,
    };
    let matches = Cli::command().color(color).try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

/// The arguments before a `--`, which is all that can be global flags.
fn flags() -> impl Iterator<Item = String> {
    std::env::args_os()
        .skip(1)
        .take_while(|arg| arg != "--")
        .map(|arg| arg.to_string_lossy().into_owned())
}

/// The value of a global flag as `--flag value` or `--flag=value`, read before clap has parsed
/// (or refused) the command line.
fn flag_value(flag: &str) -> Option<String> {
    let mut args = flags();
    while let Some(arg) = args.next() {
        if arg == flag {
            return args.next();
        }
        if let Some(value) = arg
            .strip_prefix(flag)
            .and_then(|rest| rest.strip_prefix('='))
        {
            return Some(value.to_string());
        }
    }
    None
}

/// A command line clap refuses: its message on stderr as usual (help and `--version` on
/// stdout), and with `--json` also `{"error", "exitCode": 2}` on stdout, as for any failure.
fn usage_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    // Help asked for is no failure; help shown for a missing subcommand is (exit 2).
    let informational = matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    );
    let json = flags().any(|arg| arg == "--json");
    if json && !informational {
        let report = serde_json::json!({ "error": summary(error), "exitCode": error.exit_code() });
        let _ = trmctl::output::Output::new(true, ColorWhen::Never).json(&report);
    }
    // Prints to stderr, or help and version to stdout; a closed stream has nothing to add.
    let _ = error.print();
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

/// Clap's message up to its usage lines, on one line: "invalid value 'x' for '--limit
/// <LIMIT>': …", or "the following required arguments were not provided: <IDS>...".
fn summary(error: &clap::Error) -> String {
    if error.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return "a subcommand is required (see --help)".to_string();
    }
    let rendered = error.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let message = message.join(" ");
    match message.strip_prefix("error: ") {
        Some(rest) => rest.to_string(),
        None if message.is_empty() => "invalid command line".to_string(),
        None => message,
    }
}
