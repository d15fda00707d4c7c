//! The committed completions and man pages must be what the binary generates. Run with
//! `TRMCTL_BLESS=1` to rewrite them after changing the CLI.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compares (or, when blessing, writes) one generated file; returns a complaint if stale.
fn check(path: &Path, generated: &[u8]) -> Option<String> {
    if std::env::var_os("TRMCTL_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, generated).unwrap();
        return None;
    }
    match std::fs::read(path) {
        Ok(committed) if committed == generated => None,
        Ok(_) => Some(format!("{} is stale", path.display())),
        Err(_) => Some(format!("{} is missing", path.display())),
    }
}

#[test]
fn committed_completions_and_man_pages_are_current() {
    let mut stale = Vec::new();
    for (shell, file) in trmctl::docs::SHELLS {
        stale.extend(check(
            &root().join("completions").join(file),
            &trmctl::docs::completions(shell),
        ));
    }
    let pages = trmctl::docs::man_pages().unwrap();
    for (name, page) in &pages {
        stale.extend(check(&root().join("man").join(name), page));
    }
    let committed: Vec<String> = std::fs::read_dir(root().join("man"))
        .map(|dir| {
            dir.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    for name in committed {
        if !pages.iter().any(|(page, _)| page == &name) {
            stale.push(format!("man/{name} is no longer generated; delete it"));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nregenerate with: TRMCTL_BLESS=1 cargo test --test it generated",
        stale.join("\n")
    );
}

#[test]
fn completions_command_prints_the_committed_script() {
    let out = assert_cmd::Command::cargo_bin("trmctl")
        .unwrap()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        out.stdout,
        trmctl::docs::completions(clap_complete::Shell::Bash)
    );
}

#[test]
fn bash_completion_script_parses() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("trmctl.bash");
    std::fs::write(
        &script,
        trmctl::docs::completions(clap_complete::Shell::Bash),
    )
    .unwrap();
    let status = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status();
    if let Ok(status) = status {
        assert!(status.success(), "bash -n rejects the completion script");
    }
}
