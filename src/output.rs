//! The one place that prints data to stdout: aligned tables for people, JSON for scripts.
//!
//! JSON is pretty on a terminal and compact when piped; `ndjson` prints one object per line
//! and flushes, for `events tail --follow --json | jq`. Write errors are returned, never
//! panicked on, and a closed pipe is marked [`StdoutClosed`], which ends the command quietly
//! (or, after a command's final report, with the code its findings give: [`unless_closed`]).

use std::io::{self, IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use crate::cli::ColorWhen;

/// How data is printed on stdout.
pub struct Output {
    pub json: bool,
    color: bool,
    pretty: bool,
}

impl Output {
    pub fn new(json: bool, color: ColorWhen) -> Output {
        let tty = io::stdout().is_terminal();
        let color = match color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        };
        Output {
            json,
            color,
            pretty: tty,
        }
    }

    /// Prints a value as one JSON document. It is made whole before any of it is written, so
    /// a value that cannot be serialised leaves stdout empty for the error document.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        let document = if self.pretty {
            serde_json::to_vec_pretty(value)?
        } else {
            serde_json::to_vec(value)?
        };
        to_stdout(|out| {
            out.write_all(&document)?;
            writeln!(out)
        })
    }

    /// Prints a value as one line of NDJSON and flushes it.
    pub fn ndjson<T: Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        let line = serde_json::to_vec(value)?;
        to_stdout(|out| {
            out.write_all(&line)?;
            writeln!(out)
        })
    }

    /// Prints lines of text.
    pub fn text(&self, text: &str) -> io::Result<()> {
        to_stdout(|out| writeln!(out, "{text}"))
    }

    /// Prints an aligned table with a header row.
    pub fn table(&self, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
        let bold = self.style(Style::new().bold());
        let header: Vec<String> = header.iter().map(|h| bold(h)).collect();
        to_stdout(|out| {
            let mut tw = tabwriter::TabWriter::new(out).padding(2).ansi(true);
            writeln!(tw, "{}", header.join("\t"))?;
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| c.replace(['\t', '\n'], " ")).collect();
                writeln!(tw, "{}", cells.join("\t"))?;
            }
            tw.flush()
        })
    }

    /// Colours a status word: green when fine, red when it needs attention.
    pub fn status_word(&self, word: &str) -> String {
        let color = match word {
            "active" | "ok" => AnsiColor::Green,
            "configured" => AnsiColor::Yellow,
            "disabled" => AnsiColor::BrightBlack,
            _ => AnsiColor::Red,
        };
        self.style(Style::new().fg_color(Some(color.into())))(word)
    }

    fn style(&self, style: Style) -> impl Fn(&str) -> String {
        let on = self.color;
        move |text| {
            if on {
                format!("{style}{text}{style:#}")
            } else {
                text.to_string()
            }
        }
    }
}

/// Stdout closed under a write (`trmctl events list | head -1`): the reader has what it
/// wanted, so the command ends quietly with 0 (a final report keeps its code instead, see
/// [`unless_closed`]). Only a write to stdout is marked so: a broken
/// pipe elsewhere (a socket to a provider) is a failure like any other.
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes to stdout and flushes; a broken pipe comes back as [`StdoutClosed`].
pub fn to_stdout(
    write: impl FnOnce(&mut io::StdoutLock<'static>) -> io::Result<()>,
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => io::Error::new(io::ErrorKind::BrokenPipe, StdoutClosed),
            _ => e,
        })
}

/// For the report a command ends with, whose exit code says more than the report: a reader
/// that left early (`trmctl status | grep -q reauth`, `| head -c0`) has what it wanted, and
/// the command still ends with the code its findings give instead of a quiet 0.
pub fn unless_closed(written: io::Result<()>) -> io::Result<()> {
    match written {
        Err(e) if e.get_ref().is_some_and(|inner| inner.is::<StdoutClosed>()) => Ok(()),
        other => other,
    }
}

/// Says something to the person at the terminal, on stderr. A closed stderr (its reader gone)
/// is no reason to panic: the line is dropped, and the exit code still tells.
pub fn note(text: &str) {
    let _ = writeln!(io::stderr(), "{text}");
}

/// A table cell for an optional value.
pub fn cell(value: Option<&str>) -> String {
    value.unwrap_or("-").to_string()
}
