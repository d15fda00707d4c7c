# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_trmctl_global_optspecs
    string join \n config= json q/quiet v/verbose color= log-format= h/help V/version
end

function __fish_trmctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_trmctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_trmctl_using_subcommand
    set -l cmd (__fish_trmctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c trmctl -n "__fish_trmctl_needs_command" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_needs_command" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_needs_command" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_needs_command" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_needs_command" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_needs_command" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_needs_command" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_needs_command" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_needs_command" -f -a "init" -d 'Write a commented config and create the database'
complete -c trmctl -n "__fish_trmctl_needs_command" -f -a "config" -d 'Inspect the configuration'
complete -c trmctl -n "__fish_trmctl_needs_command" -f -a "integrations" -d 'The integration registry'
complete -c trmctl -n "__fish_trmctl_needs_command" -f -a "events" -d 'Inspect stored events'
complete -c trmctl -n "__fish_trmctl_needs_command" -f -a "auth" -d 'Authorize accounts and manage their tokens'
complete -c trmctl -n "__fish_trmctl_needs_command" -f -a "secret" -d 'API keys and webhook secrets in the OS keyring'
complete -c trmctl -n "__fish_trmctl_needs_command" -f -a "poll" -d 'Poll integrations once (for cron and systemd timers); silent on success'
complete -c trmctl -n "__fish_trmctl_needs_command" -f -a "serve" -d 'Receive webhooks and process them into events (runs until SIGTERM or Ctrl-C; SIGHUP renews the webhook secrets from the config)'
complete -c trmctl -n "__fish_trmctl_needs_command" -f -a "deadletters" -d 'Deliveries that failed for good'
complete -c trmctl -n "__fish_trmctl_needs_command" -f -a "sinks" -d 'Where events go next: HTTP endpoints and local commands ([[sinks]] in the config)'
complete -c trmctl -n "__fish_trmctl_needs_command" -f -a "actions" -d 'What trmctl creates elsewhere on an event type: Google Tasks, Slack messages, HTTP calls ([[actions]] in the config)'
complete -c trmctl -n "__fish_trmctl_needs_command" -f -a "status" -d 'What needs attention: failing integrations, dead letters, accounts to re-authorize'
complete -c trmctl -n "__fish_trmctl_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c trmctl -n "__fish_trmctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand init" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand init" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand init" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand init" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand init" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand init" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand init" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand init" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and not __fish_seen_subcommand_from check help" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and not __fish_seen_subcommand_from check help" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and not __fish_seen_subcommand_from check help" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and not __fish_seen_subcommand_from check help" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and not __fish_seen_subcommand_from check help" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and not __fish_seen_subcommand_from check help" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and not __fish_seen_subcommand_from check help" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and not __fish_seen_subcommand_from check help" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and not __fish_seen_subcommand_from check help" -f -a "check" -d 'Validate the config and print every problem (exit 2 if any)'
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and not __fish_seen_subcommand_from check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and __fish_seen_subcommand_from check" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and __fish_seen_subcommand_from check" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and __fish_seen_subcommand_from check" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and __fish_seen_subcommand_from check" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and __fish_seen_subcommand_from check" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Validate the config and print every problem (exit 2 if any)'
complete -c trmctl -n "__fish_trmctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and not __fish_seen_subcommand_from list show enable disable help" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and not __fish_seen_subcommand_from list show enable disable help" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and not __fish_seen_subcommand_from list show enable disable help" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and not __fish_seen_subcommand_from list show enable disable help" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and not __fish_seen_subcommand_from list show enable disable help" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and not __fish_seen_subcommand_from list show enable disable help" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and not __fish_seen_subcommand_from list show enable disable help" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and not __fish_seen_subcommand_from list show enable disable help" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and not __fish_seen_subcommand_from list show enable disable help" -f -a "list" -d 'List integrations with their status'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and not __fish_seen_subcommand_from list show enable disable help" -f -a "show" -d 'Show one integration'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and not __fish_seen_subcommand_from list show enable disable help" -f -a "enable" -d 'Enable an integration'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and not __fish_seen_subcommand_from list show enable disable help" -f -a "disable" -d 'Disable an integration (its webhooks answer 404, polls skip it)'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and not __fish_seen_subcommand_from list show enable disable help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from list" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from list" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from list" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from show" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from show" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from show" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from show" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from enable" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from enable" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from enable" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from enable" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from enable" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from enable" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from enable" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from disable" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from disable" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from disable" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from disable" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from disable" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from disable" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from disable" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from help" -f -a "list" -d 'List integrations with their status'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one integration'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from help" -f -a "enable" -d 'Enable an integration'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from help" -f -a "disable" -d 'Disable an integration (its webhooks answer 404, polls skip it)'
complete -c trmctl -n "__fish_trmctl_using_subcommand integrations; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and not __fish_seen_subcommand_from list show tail help" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and not __fish_seen_subcommand_from list show tail help" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and not __fish_seen_subcommand_from list show tail help" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and not __fish_seen_subcommand_from list show tail help" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and not __fish_seen_subcommand_from list show tail help" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and not __fish_seen_subcommand_from list show tail help" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and not __fish_seen_subcommand_from list show tail help" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and not __fish_seen_subcommand_from list show tail help" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and not __fish_seen_subcommand_from list show tail help" -f -a "list" -d 'List events, newest first'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and not __fish_seen_subcommand_from list show tail help" -f -a "show" -d 'Show one event'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and not __fish_seen_subcommand_from list show tail help" -f -a "tail" -d 'Print the latest events, oldest first (NDJSON with --json)'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and not __fish_seen_subcommand_from list show tail help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from list" -l integration -d 'Only events of this integration' -r
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from list" -l type -d 'Only events of this type' -r -f -a "emailReceived\t''
sheetRowAdded\t''
sheetRowUpdated\t''
sheetRowRemoved\t''
driveFileAdded\t''
driveFileUpdated\t''
calendarEventChanged\t''
slackMessagePosted\t''
githubEventReceived\t''
stripeEventReceived\t''
crmRecordChanged\t''
externalEventReceived\t''
potentialTensionDetected\t''
recognitionDetected\t''
winRecorded\t''
knowledgeSnippetFound\t''
taskRequested\t''
externalTaskCreated\t''
integrationFailed\t''
reauthRequired\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from list" -l since -d 'Only events received since TIME (2026-01-01, 2026-01-01T10:00 local time, RFC 3339, or a duration ago such as 2h)' -r
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from list" -l limit -d 'At most this many events' -r
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from list" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from list" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from list" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from show" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from show" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from show" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from show" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from tail" -s n -l lines -d 'How many of the latest events to print first' -r
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from tail" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from tail" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from tail" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from tail" -s f -l follow -d 'Keep printing events as they are stored'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from tail" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from tail" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from tail" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from tail" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from tail" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from help" -f -a "list" -d 'List events, newest first'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one event'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from help" -f -a "tail" -d 'Print the latest events, oldest first (NDJSON with --json)'
complete -c trmctl -n "__fish_trmctl_using_subcommand events; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -f -a "google" -d 'Authorize a Google account (OAuth 2.0 with PKCE, in your browser)'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -f -a "list" -d 'Accounts, scopes, token expiry and status'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -f -a "status" -d 'Like list; exits 4 when an account needs (re-)authorization'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -f -a "token" -d 'Print a fresh access token (refreshing it if needed), for scripts; no --json form'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -f -a "revoke" -d 'Revoke the authorization at Google and delete the local tokens'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -f -a "export" -d 'Write an authorization to stdout, to move it to a headless machine (pipe it, e.g. over ssh)'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -f -a "import" -d 'Read an authorization written by `auth export` from stdin'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and not __fish_seen_subcommand_from google list status token revoke export import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from google" -l scopes -d 'Scopes to ask for (read-only, but `tasks`) [default: what the account\'s integrations and actions need]' -r
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from google" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from google" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from google" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from google" -l no-browser -d 'Print the address instead of opening a browser, and accept the redirect address pasted on stdin'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from google" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from google" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from google" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from google" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from google" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from list" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from list" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from list" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from status" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from status" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from status" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from status" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from status" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from token" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from token" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from token" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from token" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from token" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from token" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from token" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from token" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from revoke" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from revoke" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from revoke" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from revoke" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from revoke" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from export" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from export" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from export" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from export" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from export" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from export" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from import" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from import" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from import" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from import" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from import" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from import" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "google" -d 'Authorize a Google account (OAuth 2.0 with PKCE, in your browser)'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "list" -d 'Accounts, scopes, token expiry and status'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "status" -d 'Like list; exits 4 when an account needs (re-)authorization'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "token" -d 'Print a fresh access token (refreshing it if needed), for scripts; no --json form'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke the authorization at Google and delete the local tokens'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "export" -d 'Write an authorization to stdout, to move it to a headless machine (pipe it, e.g. over ssh)'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "import" -d 'Read an authorization written by `auth export` from stdin'
complete -c trmctl -n "__fish_trmctl_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and not __fish_seen_subcommand_from set rm list help" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and not __fish_seen_subcommand_from set rm list help" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and not __fish_seen_subcommand_from set rm list help" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and not __fish_seen_subcommand_from set rm list help" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and not __fish_seen_subcommand_from set rm list help" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and not __fish_seen_subcommand_from set rm list help" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and not __fish_seen_subcommand_from set rm list help" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and not __fish_seen_subcommand_from set rm list help" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and not __fish_seen_subcommand_from set rm list help" -f -a "set" -d 'Store a secret in the keyring, read from stdin or a hidden prompt (never from arguments)'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and not __fish_seen_subcommand_from set rm list help" -f -a "rm" -d 'Delete a secret from the keyring'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and not __fish_seen_subcommand_from set rm list help" -f -a "list" -d 'Every secret the config refers to, and where it is kept (never its value)'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and not __fish_seen_subcommand_from set rm list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from set" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from set" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from set" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from set" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from rm" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from rm" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from rm" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from rm" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from rm" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from rm" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from list" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from list" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from list" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "set" -d 'Store a secret in the keyring, read from stdin or a hidden prompt (never from arguments)'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Delete a secret from the keyring'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "list" -d 'Every secret the config refers to, and where it is kept (never its value)'
complete -c trmctl -n "__fish_trmctl_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand poll" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand poll" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand poll" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand poll" -l due -d 'Only integrations whose next sync time has come'
complete -c trmctl -n "__fish_trmctl_using_subcommand poll" -l full -d 'Ignore the stored cursors: sync from scratch (no event is made twice)'
complete -c trmctl -n "__fish_trmctl_using_subcommand poll" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand poll" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand poll" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand poll" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand poll" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand serve" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand serve" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand serve" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand serve" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand serve" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand serve" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand serve" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand serve" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and not __fish_seen_subcommand_from list retry drop help" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and not __fish_seen_subcommand_from list retry drop help" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and not __fish_seen_subcommand_from list retry drop help" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and not __fish_seen_subcommand_from list retry drop help" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and not __fish_seen_subcommand_from list retry drop help" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and not __fish_seen_subcommand_from list retry drop help" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and not __fish_seen_subcommand_from list retry drop help" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and not __fish_seen_subcommand_from list retry drop help" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and not __fish_seen_subcommand_from list retry drop help" -f -a "list" -d 'List dead letters with their last error'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and not __fish_seen_subcommand_from list retry drop help" -f -a "retry" -d 'Put dead letters back in the queue; `trmctl serve` processes them again'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and not __fish_seen_subcommand_from list retry drop help" -f -a "drop" -d 'Delete dead letters'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and not __fish_seen_subcommand_from list retry drop help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from list" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from list" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from list" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from retry" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from retry" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from retry" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from retry" -l all -d 'Every dead letter'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from retry" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from retry" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from retry" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from retry" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from retry" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from drop" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from drop" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from drop" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from drop" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from drop" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from drop" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from drop" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from drop" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from help" -f -a "list" -d 'List dead letters with their last error'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from help" -f -a "retry" -d 'Put dead letters back in the queue; `trmctl serve` processes them again'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from help" -f -a "drop" -d 'Delete dead letters'
complete -c trmctl -n "__fish_trmctl_using_subcommand deadletters; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and not __fish_seen_subcommand_from list flush enable disable deadletters help" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and not __fish_seen_subcommand_from list flush enable disable deadletters help" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and not __fish_seen_subcommand_from list flush enable disable deadletters help" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and not __fish_seen_subcommand_from list flush enable disable deadletters help" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and not __fish_seen_subcommand_from list flush enable disable deadletters help" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and not __fish_seen_subcommand_from list flush enable disable deadletters help" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and not __fish_seen_subcommand_from list flush enable disable deadletters help" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and not __fish_seen_subcommand_from list flush enable disable deadletters help" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and not __fish_seen_subcommand_from list flush enable disable deadletters help" -f -a "list" -d 'Sinks with their status, cursor, pending events, dead letters and last error'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and not __fish_seen_subcommand_from list flush enable disable deadletters help" -f -a "flush" -d 'Send every pending event once (for cron); exit 1 if a sink failed'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and not __fish_seen_subcommand_from list flush enable disable deadletters help" -f -a "enable" -d 'Re-enable a sink (after a 410 Gone, or `sinks disable`); its events resume in order'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and not __fish_seen_subcommand_from list flush enable disable deadletters help" -f -a "disable" -d 'Stop sending to a sink; its events wait, in order, until `sinks enable`'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and not __fish_seen_subcommand_from list flush enable disable deadletters help" -f -a "deadletters" -d 'Events the sinks gave up on after max_attempts'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and not __fish_seen_subcommand_from list flush enable disable deadletters help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from list" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from list" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from list" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from flush" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from flush" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from flush" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from flush" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from flush" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from flush" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from flush" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from flush" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from enable" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from enable" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from enable" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from enable" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from enable" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from enable" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from enable" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from disable" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from disable" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from disable" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from disable" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from disable" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from disable" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from disable" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from deadletters" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from deadletters" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from deadletters" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from deadletters" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from deadletters" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from deadletters" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from deadletters" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from deadletters" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from deadletters" -f -a "list" -d 'List them with their last error'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from deadletters" -f -a "drop" -d 'Forget them (once dealt with), so `trmctl status` no longer counts them'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from deadletters" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from help" -f -a "list" -d 'Sinks with their status, cursor, pending events, dead letters and last error'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from help" -f -a "flush" -d 'Send every pending event once (for cron); exit 1 if a sink failed'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from help" -f -a "enable" -d 'Re-enable a sink (after a 410 Gone, or `sinks disable`); its events resume in order'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from help" -f -a "disable" -d 'Stop sending to a sink; its events wait, in order, until `sinks enable`'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from help" -f -a "deadletters" -d 'Events the sinks gave up on after max_attempts'
complete -c trmctl -n "__fish_trmctl_using_subcommand sinks; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and not __fish_seen_subcommand_from flush deadletters help" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and not __fish_seen_subcommand_from flush deadletters help" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and not __fish_seen_subcommand_from flush deadletters help" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and not __fish_seen_subcommand_from flush deadletters help" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and not __fish_seen_subcommand_from flush deadletters help" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and not __fish_seen_subcommand_from flush deadletters help" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and not __fish_seen_subcommand_from flush deadletters help" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and not __fish_seen_subcommand_from flush deadletters help" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and not __fish_seen_subcommand_from flush deadletters help" -f -a "flush" -d 'Run every pending event through the actions once (for cron); exit 1 if an action failed'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and not __fish_seen_subcommand_from flush deadletters help" -f -a "deadletters" -d 'Events the actions gave up on after max_attempts'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and not __fish_seen_subcommand_from flush deadletters help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from flush" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from flush" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from flush" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from flush" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from flush" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from flush" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from flush" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from flush" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from deadletters" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from deadletters" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from deadletters" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from deadletters" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from deadletters" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from deadletters" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from deadletters" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from deadletters" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from deadletters" -f -a "list" -d 'List them with their last error'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from deadletters" -f -a "drop" -d 'Forget them (once dealt with), so `trmctl status` no longer counts them'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from deadletters" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from help" -f -a "flush" -d 'Run every pending event through the actions once (for cron); exit 1 if an action failed'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from help" -f -a "deadletters" -d 'Events the actions gave up on after max_attempts'
complete -c trmctl -n "__fish_trmctl_using_subcommand actions; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand status" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand status" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand status" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand status" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand status" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand status" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand status" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand completions" -l config -d 'Config file [default: $TRMCTL_CONFIG, else $XDG_CONFIG_HOME/trmctl/config.toml]' -r -F
complete -c trmctl -n "__fish_trmctl_using_subcommand completions" -l color -d 'When to use colours (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand completions" -l log-format -d 'Format of log lines on stderr' -r -f -a "text\t''
json\t''"
complete -c trmctl -n "__fish_trmctl_using_subcommand completions" -l json -d 'Print machine-readable JSON on stdout'
complete -c trmctl -n "__fish_trmctl_using_subcommand completions" -s q -l quiet -d 'Print only errors'
complete -c trmctl -n "__fish_trmctl_using_subcommand completions" -s v -l verbose -d 'Print more: -v for info, -vv for debug (RUST_LOG wins)'
complete -c trmctl -n "__fish_trmctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c trmctl -n "__fish_trmctl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and not __fish_seen_subcommand_from init config integrations events auth secret poll serve deadletters sinks actions status completions help" -f -a "init" -d 'Write a commented config and create the database'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and not __fish_seen_subcommand_from init config integrations events auth secret poll serve deadletters sinks actions status completions help" -f -a "config" -d 'Inspect the configuration'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and not __fish_seen_subcommand_from init config integrations events auth secret poll serve deadletters sinks actions status completions help" -f -a "integrations" -d 'The integration registry'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and not __fish_seen_subcommand_from init config integrations events auth secret poll serve deadletters sinks actions status completions help" -f -a "events" -d 'Inspect stored events'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and not __fish_seen_subcommand_from init config integrations events auth secret poll serve deadletters sinks actions status completions help" -f -a "auth" -d 'Authorize accounts and manage their tokens'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and not __fish_seen_subcommand_from init config integrations events auth secret poll serve deadletters sinks actions status completions help" -f -a "secret" -d 'API keys and webhook secrets in the OS keyring'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and not __fish_seen_subcommand_from init config integrations events auth secret poll serve deadletters sinks actions status completions help" -f -a "poll" -d 'Poll integrations once (for cron and systemd timers); silent on success'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and not __fish_seen_subcommand_from init config integrations events auth secret poll serve deadletters sinks actions status completions help" -f -a "serve" -d 'Receive webhooks and process them into events (runs until SIGTERM or Ctrl-C; SIGHUP renews the webhook secrets from the config)'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and not __fish_seen_subcommand_from init config integrations events auth secret poll serve deadletters sinks actions status completions help" -f -a "deadletters" -d 'Deliveries that failed for good'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and not __fish_seen_subcommand_from init config integrations events auth secret poll serve deadletters sinks actions status completions help" -f -a "sinks" -d 'Where events go next: HTTP endpoints and local commands ([[sinks]] in the config)'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and not __fish_seen_subcommand_from init config integrations events auth secret poll serve deadletters sinks actions status completions help" -f -a "actions" -d 'What trmctl creates elsewhere on an event type: Google Tasks, Slack messages, HTTP calls ([[actions]] in the config)'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and not __fish_seen_subcommand_from init config integrations events auth secret poll serve deadletters sinks actions status completions help" -f -a "status" -d 'What needs attention: failing integrations, dead letters, accounts to re-authorize'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and not __fish_seen_subcommand_from init config integrations events auth secret poll serve deadletters sinks actions status completions help" -f -a "completions" -d 'Print shell completions'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and not __fish_seen_subcommand_from init config integrations events auth secret poll serve deadletters sinks actions status completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Validate the config and print every problem (exit 2 if any)'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from integrations" -f -a "list" -d 'List integrations with their status'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from integrations" -f -a "show" -d 'Show one integration'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from integrations" -f -a "enable" -d 'Enable an integration'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from integrations" -f -a "disable" -d 'Disable an integration (its webhooks answer 404, polls skip it)'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from events" -f -a "list" -d 'List events, newest first'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from events" -f -a "show" -d 'Show one event'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from events" -f -a "tail" -d 'Print the latest events, oldest first (NDJSON with --json)'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "google" -d 'Authorize a Google account (OAuth 2.0 with PKCE, in your browser)'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "list" -d 'Accounts, scopes, token expiry and status'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "status" -d 'Like list; exits 4 when an account needs (re-)authorization'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "token" -d 'Print a fresh access token (refreshing it if needed), for scripts; no --json form'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "revoke" -d 'Revoke the authorization at Google and delete the local tokens'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "export" -d 'Write an authorization to stdout, to move it to a headless machine (pipe it, e.g. over ssh)'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "import" -d 'Read an authorization written by `auth export` from stdin'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "set" -d 'Store a secret in the keyring, read from stdin or a hidden prompt (never from arguments)'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "rm" -d 'Delete a secret from the keyring'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "list" -d 'Every secret the config refers to, and where it is kept (never its value)'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from deadletters" -f -a "list" -d 'List dead letters with their last error'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from deadletters" -f -a "retry" -d 'Put dead letters back in the queue; `trmctl serve` processes them again'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from deadletters" -f -a "drop" -d 'Delete dead letters'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from sinks" -f -a "list" -d 'Sinks with their status, cursor, pending events, dead letters and last error'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from sinks" -f -a "flush" -d 'Send every pending event once (for cron); exit 1 if a sink failed'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from sinks" -f -a "enable" -d 'Re-enable a sink (after a 410 Gone, or `sinks disable`); its events resume in order'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from sinks" -f -a "disable" -d 'Stop sending to a sink; its events wait, in order, until `sinks enable`'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from sinks" -f -a "deadletters" -d 'Events the sinks gave up on after max_attempts'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from actions" -f -a "flush" -d 'Run every pending event through the actions once (for cron); exit 1 if an action failed'
complete -c trmctl -n "__fish_trmctl_using_subcommand help; and __fish_seen_subcommand_from actions" -f -a "deadletters" -d 'Events the actions gave up on after max_attempts'
