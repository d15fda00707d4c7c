//! The one place that prints data to stdout: aligned tables for people, JSON for scripts.
//!
//! JSON is pretty on a terminal and compact when piped; `ndjson` prints one object per line
//! and flushes, for `events tail --follow --json | jq`. Write errors are returned, never
//! panicked on, so a closed pipe ends the command quietly.

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

    /// Prints a value as one JSON document.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        let mut out = io::stdout().lock();
        if self.pretty {
            serde_json::to_writer_pretty(&mut out, value)?;
        } else {
            serde_json::to_writer(&mut out, value)?;
        }
        writeln!(out)?;
        out.flush()
    }

    /// Prints a value as one line of NDJSON and flushes it.
    pub fn ndjson<T: Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        let mut out = io::stdout().lock();
        serde_json::to_writer(&mut out, value)?;
        writeln!(out)?;
        out.flush()
    }

    /// Prints lines of text.
    pub fn text(&self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        writeln!(out, "{text}")?;
        out.flush()
    }

    /// Prints an aligned table with a header row.
    pub fn table(&self, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
        let mut tw = tabwriter::TabWriter::new(io::stdout().lock())
            .padding(2)
            .ansi(true);
        let bold = self.style(Style::new().bold());
        let header: Vec<String> = header.iter().map(|h| bold(h)).collect();
        writeln!(tw, "{}", header.join("\t"))?;
        for row in rows {
            let cells: Vec<String> = row.iter().map(|c| c.replace(['\t', '\n'], " ")).collect();
            writeln!(tw, "{}", cells.join("\t"))?;
        }
        tw.flush()
    }

    /// Colours a status word: green when fine, red when it needs attention.
    pub fn status_word(&self, word: &str) -> String {
        let color = match word {
            "active" | "ok" => AnsiColor::Green,
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

/// A table cell for an optional value.
pub fn cell(value: Option<&str>) -> String {
    value.unwrap_or("-").to_string()
}
