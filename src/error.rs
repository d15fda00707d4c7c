//! Errors that decide the process exit code (SPEC §4).
//!
//! Commands return `anyhow::Result`; when a failure must end with a specific exit code, the
//! command wraps it in [`Exit`]. `main` walks the error chain once to pick the code, and treats
//! a closed stdout (`BrokenPipe`) as success so `trmctl events list | head -1` stays quiet.

use std::fmt;
use std::process::ExitCode;

/// The exit codes of SPEC §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Something failed.
    Failure = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// Some integrations failed while others succeeded.
    Partial = 3,
    /// An account needs re-authorization.
    Reauth = 4,
    /// The named integration is locked by another run.
    Locked = 5,
}

/// An error that carries its exit code.
#[derive(Debug)]
pub struct Exit {
    pub code: Code,
    pub message: String,
    /// The command already wrote its `--json` document (a report that explains the failure):
    /// stdout must hold that one document, so `main` says the error on stderr only.
    pub reported: bool,
}

impl Exit {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Exit {
            code,
            message: message.into(),
            reported: false,
        }
    }

    /// This error, after the command's `--json` report was written.
    pub fn after_report(self) -> Self {
        Exit {
            reported: true,
            ..self
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Exit::new(Code::Usage, message)
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// Whether an error is, or was caused by, an account that needs re-authorization.
pub fn needs_reauth(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<Exit>()
            .is_some_and(|e| e.code == Code::Reauth)
    })
}

/// How a finished command should end the process.
pub enum Outcome {
    /// Exit quietly with this code (success, or a closed pipe).
    Quiet(ExitCode),
    /// Report the error (with `--json`, also as a JSON document on stdout unless the command
    /// wrote its own report) and exit with this code.
    Report { code: Code, json_document: bool },
}

/// Decides the exit code for an error: a broken pipe anywhere in the chain is a quiet success,
/// an [`Exit`] gives its own code, anything else is a plain failure.
pub fn classify(err: &anyhow::Error) -> Outcome {
    for cause in err.chain() {
        let stdout_closed = cause
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .is_some_and(|inner| inner.is::<crate::output::StdoutClosed>());
        if stdout_closed {
            return Outcome::Quiet(ExitCode::SUCCESS);
        }
        if let Some(exit) = cause.downcast_ref::<Exit>() {
            return Outcome::Report {
                code: exit.code,
                json_document: !exit.reported,
            };
        }
    }
    Outcome::Report {
        code: Code::Failure,
        json_document: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn a_closed_stdout_is_quiet_and_another_broken_pipe_a_failure() {
        let closed =
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, crate::output::StdoutClosed);
        let err = anyhow::Error::new(closed).context("writing events");
        assert!(matches!(classify(&err), Outcome::Quiet(_)));
        // A provider's socket closing under a request is no reason to report success.
        let socket = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "connection closed");
        let err = anyhow::Error::new(socket).context("GET https://www.googleapis.com/…");
        assert!(matches!(
            classify(&err),
            Outcome::Report {
                code: Code::Failure,
                ..
            }
        ));
    }

    #[test]
    fn exit_code_comes_from_the_chain() {
        let err = anyhow::Error::new(Exit::new(Code::Reauth, "reauth")).context("polling");
        assert!(matches!(
            classify(&err),
            Outcome::Report {
                code: Code::Reauth,
                json_document: true
            }
        ));
        let err: anyhow::Result<()> = Err(anyhow::anyhow!("boom")).context("x");
        assert!(matches!(
            classify(&err.unwrap_err()),
            Outcome::Report {
                code: Code::Failure,
                ..
            }
        ));
        let err = anyhow::Error::new(Exit::new(Code::Reauth, "reauth").after_report());
        assert!(matches!(
            classify(&err),
            Outcome::Report {
                json_document: false,
                ..
            }
        ));
    }
}
