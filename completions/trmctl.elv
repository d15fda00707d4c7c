
use builtin;
use str;

set edit:completion:arg-completer[trmctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'trmctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'trmctl'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Write a commented config and create the database'
            cand config 'Inspect the configuration'
            cand integrations 'The integration registry'
            cand events 'Inspect stored events'
            cand auth 'Authorize accounts and manage their tokens'
            cand secret 'API keys and webhook secrets in the OS keyring'
            cand poll 'Poll integrations once (for cron and systemd timers); silent on success'
            cand serve 'Receive webhooks and process them into events (runs until SIGTERM or Ctrl-C; SIGHUP renews the webhook secrets from the config)'
            cand deadletters 'Deliveries that failed for good'
            cand sinks 'Where events go next: HTTP endpoints and local commands ([[sinks]] in the config)'
            cand actions 'What trmctl creates elsewhere on an event type: Google Tasks, Slack messages, HTTP calls ([[actions]] in the config)'
            cand status 'What needs attention: failing integrations, dead letters, accounts to re-authorize'
            cand completions 'Print shell completions'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;init'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;config'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Validate the config and print every problem (exit 2 if any)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;config;check'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;config;help'= {
            cand check 'Validate the config and print every problem (exit 2 if any)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;config;help;check'= {
        }
        &'trmctl;config;help;help'= {
        }
        &'trmctl;integrations'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List integrations with their status'
            cand show 'Show one integration'
            cand enable 'Enable an integration'
            cand disable 'Disable an integration (its webhooks answer 404, polls skip it)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;integrations;list'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;integrations;show'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;integrations;enable'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;integrations;disable'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;integrations;help'= {
            cand list 'List integrations with their status'
            cand show 'Show one integration'
            cand enable 'Enable an integration'
            cand disable 'Disable an integration (its webhooks answer 404, polls skip it)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;integrations;help;list'= {
        }
        &'trmctl;integrations;help;show'= {
        }
        &'trmctl;integrations;help;enable'= {
        }
        &'trmctl;integrations;help;disable'= {
        }
        &'trmctl;integrations;help;help'= {
        }
        &'trmctl;events'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List events, newest first'
            cand show 'Show one event'
            cand tail 'Print the latest events, oldest first (NDJSON with --json)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;events;list'= {
            cand --integration 'Only events of this integration'
            cand --type 'Only events of this type'
            cand --since 'Only events received since TIME (2026-01-01, 2026-01-01T10:00 local time, RFC 3339, or a duration ago such as 2h)'
            cand --limit 'At most this many events'
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;events;show'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;events;tail'= {
            cand -n 'How many of the latest events to print first'
            cand --lines 'How many of the latest events to print first'
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand -f 'Keep printing events as they are stored'
            cand --follow 'Keep printing events as they are stored'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;events;help'= {
            cand list 'List events, newest first'
            cand show 'Show one event'
            cand tail 'Print the latest events, oldest first (NDJSON with --json)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;events;help;list'= {
        }
        &'trmctl;events;help;show'= {
        }
        &'trmctl;events;help;tail'= {
        }
        &'trmctl;events;help;help'= {
        }
        &'trmctl;auth'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand google 'Authorize a Google account (OAuth 2.0 with PKCE, in your browser)'
            cand list 'Accounts, scopes, token expiry and status'
            cand status 'Like list; exits 4 when an account needs (re-)authorization'
            cand token 'Print a fresh access token (refreshing it if needed), for scripts; no --json form'
            cand revoke 'Revoke the authorization at Google and delete the local tokens'
            cand export 'Write an authorization to stdout, to move it to a headless machine (pipe it, e.g. over ssh)'
            cand import 'Read an authorization written by `auth export` from stdin'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;auth;google'= {
            cand --scopes 'Scopes to ask for (read-only, but `tasks`) [default: what the account''s integrations and actions need]'
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --no-browser 'Print the address instead of opening a browser, and accept the redirect address pasted on stdin'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;auth;list'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;auth;status'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;auth;token'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;auth;revoke'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;auth;export'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;auth;import'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;auth;help'= {
            cand google 'Authorize a Google account (OAuth 2.0 with PKCE, in your browser)'
            cand list 'Accounts, scopes, token expiry and status'
            cand status 'Like list; exits 4 when an account needs (re-)authorization'
            cand token 'Print a fresh access token (refreshing it if needed), for scripts; no --json form'
            cand revoke 'Revoke the authorization at Google and delete the local tokens'
            cand export 'Write an authorization to stdout, to move it to a headless machine (pipe it, e.g. over ssh)'
            cand import 'Read an authorization written by `auth export` from stdin'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;auth;help;google'= {
        }
        &'trmctl;auth;help;list'= {
        }
        &'trmctl;auth;help;status'= {
        }
        &'trmctl;auth;help;token'= {
        }
        &'trmctl;auth;help;revoke'= {
        }
        &'trmctl;auth;help;export'= {
        }
        &'trmctl;auth;help;import'= {
        }
        &'trmctl;auth;help;help'= {
        }
        &'trmctl;secret'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand set 'Store a secret in the keyring, read from stdin or a hidden prompt (never from arguments)'
            cand rm 'Delete a secret from the keyring'
            cand list 'Every secret the config refers to, and where it is kept (never its value)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;secret;set'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;secret;rm'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;secret;list'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;secret;help'= {
            cand set 'Store a secret in the keyring, read from stdin or a hidden prompt (never from arguments)'
            cand rm 'Delete a secret from the keyring'
            cand list 'Every secret the config refers to, and where it is kept (never its value)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;secret;help;set'= {
        }
        &'trmctl;secret;help;rm'= {
        }
        &'trmctl;secret;help;list'= {
        }
        &'trmctl;secret;help;help'= {
        }
        &'trmctl;poll'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --due 'Only integrations whose next sync time has come'
            cand --full 'Ignore the stored cursors: sync from scratch (no event is made twice)'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;serve'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;deadletters'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List dead letters with their last error'
            cand retry 'Put dead letters back in the queue; `trmctl serve` processes them again'
            cand drop 'Delete dead letters'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;deadletters;list'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;deadletters;retry'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --all 'Every dead letter'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;deadletters;drop'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;deadletters;help'= {
            cand list 'List dead letters with their last error'
            cand retry 'Put dead letters back in the queue; `trmctl serve` processes them again'
            cand drop 'Delete dead letters'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;deadletters;help;list'= {
        }
        &'trmctl;deadletters;help;retry'= {
        }
        &'trmctl;deadletters;help;drop'= {
        }
        &'trmctl;deadletters;help;help'= {
        }
        &'trmctl;sinks'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'Sinks with their status, cursor, pending events, dead letters and last error'
            cand flush 'Send every pending event once (for cron); exit 1 if a sink failed'
            cand enable 'Re-enable a sink (after a 410 Gone, or `sinks disable`); its events resume in order'
            cand disable 'Stop sending to a sink; its events wait, in order, until `sinks enable`'
            cand deadletters 'Events the sinks gave up on after max_attempts'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;sinks;list'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;sinks;flush'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;sinks;enable'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;sinks;disable'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;sinks;deadletters'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List them with their last error'
            cand drop 'Forget them (once dealt with), so `trmctl status` no longer counts them'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;sinks;deadletters;list'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;sinks;deadletters;drop'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --all 'Every one'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;sinks;deadletters;help'= {
            cand list 'List them with their last error'
            cand drop 'Forget them (once dealt with), so `trmctl status` no longer counts them'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;sinks;deadletters;help;list'= {
        }
        &'trmctl;sinks;deadletters;help;drop'= {
        }
        &'trmctl;sinks;deadletters;help;help'= {
        }
        &'trmctl;sinks;help'= {
            cand list 'Sinks with their status, cursor, pending events, dead letters and last error'
            cand flush 'Send every pending event once (for cron); exit 1 if a sink failed'
            cand enable 'Re-enable a sink (after a 410 Gone, or `sinks disable`); its events resume in order'
            cand disable 'Stop sending to a sink; its events wait, in order, until `sinks enable`'
            cand deadletters 'Events the sinks gave up on after max_attempts'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;sinks;help;list'= {
        }
        &'trmctl;sinks;help;flush'= {
        }
        &'trmctl;sinks;help;enable'= {
        }
        &'trmctl;sinks;help;disable'= {
        }
        &'trmctl;sinks;help;deadletters'= {
            cand list 'List them with their last error'
            cand drop 'Forget them (once dealt with), so `trmctl status` no longer counts them'
        }
        &'trmctl;sinks;help;deadletters;list'= {
        }
        &'trmctl;sinks;help;deadletters;drop'= {
        }
        &'trmctl;sinks;help;help'= {
        }
        &'trmctl;actions'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand flush 'Run every pending event through the actions once (for cron); exit 1 if an action failed'
            cand deadletters 'Events the actions gave up on after max_attempts'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;actions;flush'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;actions;deadletters'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List them with their last error'
            cand drop 'Forget them (once dealt with), so `trmctl status` no longer counts them'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;actions;deadletters;list'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;actions;deadletters;drop'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --all 'Every one'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;actions;deadletters;help'= {
            cand list 'List them with their last error'
            cand drop 'Forget them (once dealt with), so `trmctl status` no longer counts them'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;actions;deadletters;help;list'= {
        }
        &'trmctl;actions;deadletters;help;drop'= {
        }
        &'trmctl;actions;deadletters;help;help'= {
        }
        &'trmctl;actions;help'= {
            cand flush 'Run every pending event through the actions once (for cron); exit 1 if an action failed'
            cand deadletters 'Events the actions gave up on after max_attempts'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;actions;help;flush'= {
        }
        &'trmctl;actions;help;deadletters'= {
            cand list 'List them with their last error'
            cand drop 'Forget them (once dealt with), so `trmctl status` no longer counts them'
        }
        &'trmctl;actions;help;deadletters;list'= {
        }
        &'trmctl;actions;help;deadletters;drop'= {
        }
        &'trmctl;actions;help;help'= {
        }
        &'trmctl;status'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;completions'= {
            cand --config 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]'
            cand --color 'When to use colours (NO_COLOR is honoured)'
            cand --log-format 'Format of log lines on stderr'
            cand --json 'Print machine-readable JSON on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand --verbose 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'trmctl;help'= {
            cand init 'Write a commented config and create the database'
            cand config 'Inspect the configuration'
            cand integrations 'The integration registry'
            cand events 'Inspect stored events'
            cand auth 'Authorize accounts and manage their tokens'
            cand secret 'API keys and webhook secrets in the OS keyring'
            cand poll 'Poll integrations once (for cron and systemd timers); silent on success'
            cand serve 'Receive webhooks and process them into events (runs until SIGTERM or Ctrl-C; SIGHUP renews the webhook secrets from the config)'
            cand deadletters 'Deliveries that failed for good'
            cand sinks 'Where events go next: HTTP endpoints and local commands ([[sinks]] in the config)'
            cand actions 'What trmctl creates elsewhere on an event type: Google Tasks, Slack messages, HTTP calls ([[actions]] in the config)'
            cand status 'What needs attention: failing integrations, dead letters, accounts to re-authorize'
            cand completions 'Print shell completions'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trmctl;help;init'= {
        }
        &'trmctl;help;config'= {
            cand check 'Validate the config and print every problem (exit 2 if any)'
        }
        &'trmctl;help;config;check'= {
        }
        &'trmctl;help;integrations'= {
            cand list 'List integrations with their status'
            cand show 'Show one integration'
            cand enable 'Enable an integration'
            cand disable 'Disable an integration (its webhooks answer 404, polls skip it)'
        }
        &'trmctl;help;integrations;list'= {
        }
        &'trmctl;help;integrations;show'= {
        }
        &'trmctl;help;integrations;enable'= {
        }
        &'trmctl;help;integrations;disable'= {
        }
        &'trmctl;help;events'= {
            cand list 'List events, newest first'
            cand show 'Show one event'
            cand tail 'Print the latest events, oldest first (NDJSON with --json)'
        }
        &'trmctl;help;events;list'= {
        }
        &'trmctl;help;events;show'= {
        }
        &'trmctl;help;events;tail'= {
        }
        &'trmctl;help;auth'= {
            cand google 'Authorize a Google account (OAuth 2.0 with PKCE, in your browser)'
            cand list 'Accounts, scopes, token expiry and status'
            cand status 'Like list; exits 4 when an account needs (re-)authorization'
            cand token 'Print a fresh access token (refreshing it if needed), for scripts; no --json form'
            cand revoke 'Revoke the authorization at Google and delete the local tokens'
            cand export 'Write an authorization to stdout, to move it to a headless machine (pipe it, e.g. over ssh)'
            cand import 'Read an authorization written by `auth export` from stdin'
        }
        &'trmctl;help;auth;google'= {
        }
        &'trmctl;help;auth;list'= {
        }
        &'trmctl;help;auth;status'= {
        }
        &'trmctl;help;auth;token'= {
        }
        &'trmctl;help;auth;revoke'= {
        }
        &'trmctl;help;auth;export'= {
        }
        &'trmctl;help;auth;import'= {
        }
        &'trmctl;help;secret'= {
            cand set 'Store a secret in the keyring, read from stdin or a hidden prompt (never from arguments)'
            cand rm 'Delete a secret from the keyring'
            cand list 'Every secret the config refers to, and where it is kept (never its value)'
        }
        &'trmctl;help;secret;set'= {
        }
        &'trmctl;help;secret;rm'= {
        }
        &'trmctl;help;secret;list'= {
        }
        &'trmctl;help;poll'= {
        }
        &'trmctl;help;serve'= {
        }
        &'trmctl;help;deadletters'= {
            cand list 'List dead letters with their last error'
            cand retry 'Put dead letters back in the queue; `trmctl serve` processes them again'
            cand drop 'Delete dead letters'
        }
        &'trmctl;help;deadletters;list'= {
        }
        &'trmctl;help;deadletters;retry'= {
        }
        &'trmctl;help;deadletters;drop'= {
        }
        &'trmctl;help;sinks'= {
            cand list 'Sinks with their status, cursor, pending events, dead letters and last error'
            cand flush 'Send every pending event once (for cron); exit 1 if a sink failed'
            cand enable 'Re-enable a sink (after a 410 Gone, or `sinks disable`); its events resume in order'
            cand disable 'Stop sending to a sink; its events wait, in order, until `sinks enable`'
            cand deadletters 'Events the sinks gave up on after max_attempts'
        }
        &'trmctl;help;sinks;list'= {
        }
        &'trmctl;help;sinks;flush'= {
        }
        &'trmctl;help;sinks;enable'= {
        }
        &'trmctl;help;sinks;disable'= {
        }
        &'trmctl;help;sinks;deadletters'= {
            cand list 'List them with their last error'
            cand drop 'Forget them (once dealt with), so `trmctl status` no longer counts them'
        }
        &'trmctl;help;sinks;deadletters;list'= {
        }
        &'trmctl;help;sinks;deadletters;drop'= {
        }
        &'trmctl;help;actions'= {
            cand flush 'Run every pending event through the actions once (for cron); exit 1 if an action failed'
            cand deadletters 'Events the actions gave up on after max_attempts'
        }
        &'trmctl;help;actions;flush'= {
        }
        &'trmctl;help;actions;deadletters'= {
            cand list 'List them with their last error'
            cand drop 'Forget them (once dealt with), so `trmctl status` no longer counts them'
        }
        &'trmctl;help;actions;deadletters;list'= {
        }
        &'trmctl;help;actions;deadletters;drop'= {
        }
        &'trmctl;help;status'= {
        }
        &'trmctl;help;completions'= {
        }
        &'trmctl;help;help'= {
        }
    ]
    $completions[$command]
}
