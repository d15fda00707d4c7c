//! The `command` sink: runs a local program for each event, for scripts and notifications.
//!
//! The program runs without a shell (the config names it and its arguments), with the event
//! JSON on stdin and `TRMCTL_EVENT_ID` / `TRMCTL_EVENT_TYPE` in its environment, which is
//! trmctl's without the variables the config reads secrets from (`env:` references) and
//! without `CREDENTIALS_DIRECTORY`. Exit status 0
//! is delivered; a non-zero exit, a signal, or running past the sink's `timeout` (the child is
//! killed) is a failed attempt, with the tail of its stderr as the error. Its stdout is
//! discarded: trmctl's own stdout carries data (`sinks flush --json`).

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{ChildStderr, Command};

use super::{Outcome, SinkConfig, tail};
use crate::event::Event;

/// The most of a command's stderr kept while it runs.
const STDERR_KEPT: usize = 4096;
/// How long stderr may stay open after the child exited or was killed (a grandchild may hold
/// it): then what was read is used.
const STDERR_GRACE: Duration = Duration::from_millis(200);

/// A ready `command` sink.
#[derive(Debug)]
pub struct CommandSink {
    program: String,
    args: Vec<String>,
    timeout: Duration,
    /// Variables of trmctl's environment the program does not get: those holding secrets.
    hidden_env: Vec<String>,
}

impl CommandSink {
    /// `hidden_env`: the variables the config reads secrets from (`Config::secret_env_vars`).
    pub fn new(cfg: &SinkConfig, hidden_env: &[String]) -> Result<CommandSink> {
        let Some((program, args)) = cfg.command.as_deref().and_then(<[String]>::split_first) else {
            bail!("sink {} needs `command`", cfg.name);
        };
        Ok(CommandSink {
            program: program.clone(),
            args: args.to_vec(),
            timeout: cfg.timeout,
            hidden_env: hidden_env.to_vec(),
        })
    }

    /// Runs the program once for one event.
    pub async fn send(&self, event: &Event) -> Outcome {
        let body = match serde_json::to_vec(event) {
            Ok(body) => body,
            Err(e) => return Outcome::Failed(format!("the event does not serialize: {e}")),
        };
        let mut command = Command::new(&self.program);
        // Nor systemd's credentials directory, where `credential:` secrets are read.
        command.env_remove("CREDENTIALS_DIRECTORY");
        for name in &self.hidden_env {
            command.env_remove(name);
        }
        let mut child = match command
            .args(&self.args)
            .env("TRMCTL_EVENT_ID", event.event_id.to_string())
            .env("TRMCTL_EVENT_TYPE", event.event_type.as_str())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(child) => child,
            Err(e) => return Outcome::Failed(format!("cannot run `{}`: {e}", self.program)),
        };
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let reader = child
            .stderr
            .take()
            .map(|pipe| tokio::spawn(keep_tail(pipe, stderr.clone())));
        let stdin = child.stdin.take();
        let feed = async move {
            if let Some(mut stdin) = stdin {
                // A program that exits without reading its input is its own business.
                let _ = stdin.write_all(&body).await;
            }
        };
        let run = async { tokio::join!(feed, child.wait()).1 };
        let status = tokio::time::timeout(self.timeout, run).await;
        if status.is_err() {
            let _ = child.kill().await;
        }
        if let Some(reader) = reader {
            let _ = tokio::time::timeout(STDERR_GRACE, reader).await;
        }
        let stderr = stderr
            .lock()
            .map(|b| tail(&String::from_utf8_lossy(&b)))
            .unwrap_or_default();
        match status {
            Err(_) => Outcome::Failed(self.failure(
                &format!(
                    "ran longer than {} and was killed",
                    humantime::format_duration(self.timeout)
                ),
                &stderr,
            )),
            Ok(Err(e)) => Outcome::Failed(format!("waiting for `{}` failed: {e}", self.program)),
            Ok(Ok(status)) if status.success() => Outcome::Delivered,
            Ok(Ok(status)) => Outcome::Failed(self.failure(&exit_reason(status), &stderr)),
        }
    }

    fn failure(&self, what: &str, stderr: &str) -> String {
        if stderr.is_empty() {
            format!("`{}` {what}", self.program)
        } else {
            format!("`{}` {what}: {stderr}", self.program)
        }
    }
}

/// Reads a pipe to its end, keeping its last `STDERR_KEPT` bytes in `kept`.
async fn keep_tail(mut pipe: ChildStderr, kept: Arc<Mutex<Vec<u8>>>) {
    let mut buffer = [0u8; 1024];
    while let Ok(n) = pipe.read(&mut buffer).await {
        if n == 0 {
            return;
        }
        if let Ok(mut kept) = kept.lock() {
            kept.extend_from_slice(&buffer[..n]);
            let excess = kept.len().saturating_sub(STDERR_KEPT);
            kept.drain(..excess);
        }
    }
}

fn exit_reason(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return format!("was killed by signal {signal}");
    }
    format!("ended with {status}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventType, now};

    fn sink(argv: &[&str], timeout: Duration) -> CommandSink {
        CommandSink {
            program: argv[0].into(),
            args: argv[1..].iter().map(|a| a.to_string()).collect(),
            timeout,
            hidden_env: Vec::new(),
        }
    }

    fn event() -> Event {
        Event::new(EventType::WinRecorded, "crm", "test", "k".into(), now())
    }

    #[tokio::test]
    async fn stdin_and_environment_carry_the_event() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let script = format!(
            "cat > {0}; printf '%s %s' \"$TRMCTL_EVENT_ID\" \"$TRMCTL_EVENT_TYPE\" > {0}.env",
            out.display()
        );
        let event = event();
        let outcome = sink(&["sh", "-c", &script], Duration::from_secs(10))
            .send(&event)
            .await;
        assert_eq!(outcome, Outcome::Delivered);
        let stdin: Event = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(stdin, event);
        let env = std::fs::read_to_string(dir.path().join("out.env")).unwrap();
        assert_eq!(env, format!("{} winRecorded", event.event_id));
    }

    #[tokio::test]
    async fn failures_say_why_with_the_stderr_tail() {
        let failing = sink(
            &["sh", "-c", "echo first >&2; echo 'no route' >&2; exit 3"],
            Duration::from_secs(10),
        );
        let Outcome::Failed(error) = failing.send(&event()).await else {
            panic!("a non-zero exit fails");
        };
        assert_eq!(error, "`sh` exited with status 3: first no route");
        let missing = sink(&["/nonexistent/trmctl-sink"], Duration::from_secs(1));
        let Outcome::Failed(error) = missing.send(&event()).await else {
            panic!("a missing program fails");
        };
        assert!(
            error.starts_with("cannot run `/nonexistent/trmctl-sink`"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_timeout_kills_the_child() {
        let started = std::time::Instant::now();
        let slow = sink(&["sleep", "60"], Duration::from_millis(300));
        let Outcome::Failed(error) = slow.send(&event()).await else {
            panic!("a timeout fails");
        };
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "killed at the timeout, not after `sleep 60`: {:?}",
            started.elapsed()
        );
        assert!(
            error.contains("ran longer than 300ms and was killed"),
            "{error}"
        );
    }
}
