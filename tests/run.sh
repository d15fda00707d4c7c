#!/usr/bin/env bash
# Runs the whole test suite as CI does: inside a private D-Bus session with an unlocked
# gnome-keyring, so the keyring tests talk to a real Secret Service. Extra arguments go to
# `cargo test` (e.g. `bash tests/run.sh auth`).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v dbus-run-session >/dev/null || missing+=(dbus-daemon)
command -v gnome-keyring-daemon >/dev/null || missing+=(gnome-keyring)
command -v secret-tool >/dev/null || missing+=(libsecret-tools)
# Time zones for the tests of local times (--since across a clock change).
[ -e /usr/share/zoneinfo/America/Santiago ] || missing+=(tzdata)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "tests/run.sh: installing ${missing[*]}" >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "tests/run.sh: the keyring tests need: ${missing[*]} (apt-get install ${missing[*]})" >&2
        exit 1
    fi
fi

if [ -z "${TRMCTL_TEST_SESSION:-}" ]; then
    exec env TRMCTL_TEST_SESSION=1 dbus-run-session -- bash "$0" "$@"
fi

# A throwaway home for the keyring daemon, so no real keyring is touched.
keyring_home=$(mktemp -d)
trap 'rm -rf "$keyring_home"' EXIT
mkdir -p "$keyring_home/.cache" "$keyring_home/.local/share"
printf 'trmctl-tests' | HOME="$keyring_home" XDG_DATA_HOME="$keyring_home/.local/share" \
    gnome-keyring-daemon --unlock --components=secrets >/dev/null
cargo test --locked "$@"
