//! Shell completions and man pages, generated from the clap tree. The same bytes are committed
//! under `completions/` and `man/`; a test fails when they go stale.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// Every shell `trmctl completions` supports, with the file name each is committed under.
pub const SHELLS: [(Shell, &str); 5] = [
    (Shell::Bash, "trmctl.bash"),
    (Shell::Zsh, "_trmctl"),
    (Shell::Fish, "trmctl.fish"),
    (Shell::Elvish, "trmctl.elv"),
    (Shell::PowerShell, "_trmctl.ps1"),
];

/// The completion script for one shell.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "trmctl", &mut buf);
    buf
}

/// `trmctl.1` and one page per subcommand (`trmctl-events-list.1`, …), as (file name, bytes).
pub fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut command = Cli::command();
    command.build();
    let mut pages = Vec::new();
    add_pages(&command, "", &mut pages)?;
    Ok(pages)
}

fn add_pages(
    command: &clap::Command,
    parent: &str,
    pages: &mut Vec<(String, Vec<u8>)>,
) -> std::io::Result<()> {
    let name = if parent.is_empty() {
        command.get_name().to_string()
    } else {
        format!("{parent}-{}", command.get_name())
    };
    let mut buf = Vec::new();
    clap_mangen::Man::new(command.clone().name(name.clone())).render(&mut buf)?;
    pages.push((format!("{name}.1"), buf));
    for sub in command.get_subcommands() {
        if sub.get_name() != "help" && !sub.is_hide_set() {
            add_pages(sub, &name, pages)?;
        }
    }
    Ok(())
}
