#!/usr/bin/env bash
# Polling benchmark (SPEC §11), in one run, with the release binary against a local fake Google
# (bench/fake_google.py: Python 3 stdlib, ThreadingHTTPServer, loopback only):
#
#   1. Idle poll of ten integrations: six `http-poll` (ETag / If-None-Match) plus one each of
#      `gmail`, `google-sheets`, `google-drive` and `google-calendar`, all against the fake.
#      `trmctl poll` once to sync, then `trmctl poll --json` with nothing changed: prints the
#      requests (the sum of `requests` in the JSON and the count the fake saw, token endpoint
#      excluded; target: ten) and the wall time of an idle poll (hyperfine, else /usr/bin/time).
#   2. Initial Gmail full sync of 10,000 and 100,000 messages (profile, messages.list with
#      maxResults=500 and nextPageToken, messages.get format=metadata, then history.list),
#      each into a fresh database, under `/usr/bin/time -v`: peak RSS, wall time, messages per
#      second, events stored (checked against the message count), requests, and which side was
#      the bottleneck (CPU of the fake from /proc/PID/stat, as ps reads it, vs trmctl's user+sys
#      from /usr/bin/time). Target: RSS flat, the 100k figure close to the 10k one.
#
# Usage: bash bench/poll.sh
#
# Knobs (environment):
#   SIZES="10000 100000"   mailbox sizes for part 2 (the RSS ratio compares the last to the first)
#   IDLE_RUNS=20           hyperfine runs of the idle poll (fallback: that many /usr/bin/time runs)
#   GMAIL_TIMEOUT=480      seconds one full sync may take before it is killed
#   TRMCTL=target/release/trmctl   the binary; the default one is rebuilt with
#                          `cargo build --release` when missing or older than src/, Cargo.*
#   KEEP_TMP=1             keep the temp dir (configs, databases, logs) and print its path
#
# Exit status: 0 when the measurements are valid (whatever the targets; the summary says whether
# each is met), 1 when not (a poll failed, events stored != messages, the fake answered errors),
# 2 on bad usage. Installs `time` and `hyperfine` with apt-get when missing.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")

SIZES=${SIZES:-"10000 100000"}
IDLE_RUNS=${IDLE_RUNS:-20}
GMAIL_TIMEOUT=${GMAIL_TIMEOUT:-480}
DEFAULT_TRMCTL=$ROOT/target/release/trmctl
TRMCTL=${TRMCTL:-$DEFAULT_TRMCTL}
FLAT_MAX=1.25 # "flat": peak RSS of the largest mailbox at most this times the smallest's

for v in IDLE_RUNS GMAIL_TIMEOUT; do
  [[ ${!v} =~ ^[0-9]+$ ]] && ((${!v} >= 1)) || {
    echo "poll.sh: $v must be a whole number >= 1, got '${!v}'" >&2
    exit 2
  }
done
read -r -a SIZE_LIST <<<"$SIZES"
((${#SIZE_LIST[@]} >= 1)) || {
  echo "poll.sh: SIZES is empty" >&2
  exit 2
}
for n in "${SIZE_LIST[@]}"; do
  [[ $n =~ ^[0-9]+$ ]] && ((n >= 1)) || {
    echo "poll.sh: SIZES must hold whole numbers >= 1, got '$n'" >&2
    exit 2
  }
done

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
  printf '[bench] FAILED: %s\n' "$*" >&2
  exit 1
}

# --- tools -------------------------------------------------------------------------------------

apt_install() { # apt_install PACKAGE: quietly, with one `apt-get update` retry
  apt-get install -y "$1" >/dev/null 2>&1 && return 0
  apt-get update >/dev/null 2>&1 || true
  apt-get install -y "$1" >/dev/null 2>&1
}

command -v python3 >/dev/null || die "python3 is required"
if [[ ! -x /usr/bin/time ]]; then
  log "installing time (GNU time, for /usr/bin/time -v)"
  apt_install time || die "could not install time (apt-get install -y time)"
fi
if ! command -v hyperfine >/dev/null; then
  log "installing hyperfine"
  apt_install hyperfine || log "could not install hyperfine: timing the idle poll with /usr/bin/time"
fi
HAVE_HYPERFINE=0
command -v hyperfine >/dev/null && HAVE_HYPERFINE=1

if [[ $TRMCTL == "$DEFAULT_TRMCTL" ]]; then
  stale=""
  if [[ -x $TRMCTL ]]; then
    stale=$(cd "$ROOT" && find src Cargo.toml Cargo.lock $([[ -e build.rs ]] && echo build.rs) \
      -newer "$TRMCTL" -print -quit 2>/dev/null) || true
  fi
  if [[ ! -x $TRMCTL || -n $stale ]]; then
    log "${stale:+$stale is newer than the binary: }cargo build --release"
    (cd "$ROOT" && cargo build --release) || die "cargo build --release failed"
  fi
fi
[[ -x $TRMCTL ]] || die "no binary at $TRMCTL"

# --- temp dir, cleanup -------------------------------------------------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/trmctl-poll-bench.XXXXXX")
FAKE_PID=""

stop_fake() {
  [[ -n $FAKE_PID ]] || return 0
  kill -TERM "$FAKE_PID" 2>/dev/null || true
  local i
  for ((i = 0; i < 50; i++)); do # up to 5 s
    kill -0 "$FAKE_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$FAKE_PID" 2>/dev/null || true
  wait "$FAKE_PID" 2>/dev/null || true
  FAKE_PID=""
}

cleanup() {
  local rc=$?
  stop_fake
  if [[ ${KEEP_TMP:-0} == 1 ]]; then
    log "kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Secrets for the fake's token endpoint and the http-poll API: random per run, passed to both
# sides by environment (the config names them as env: references).
BENCH_CLIENT_ID=bench-client.apps.googleusercontent.com
BENCH_CLIENT_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
BENCH_REFRESH_TOKEN="1//bench-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
BENCH_CRM_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
export BENCH_CLIENT_ID BENCH_CLIENT_SECRET BENCH_REFRESH_TOKEN BENCH_CRM_TOKEN
# trmctl must read only what the config says.
unset TRMCTL_CONFIG TRMCTL_DB RUST_LOG
export NO_COLOR=1 HOME=$TMP XDG_CONFIG_HOME=$TMP/xdg-config XDG_DATA_HOME=$TMP/xdg-data

# --- helpers -----------------------------------------------------------------------------------

CLK_TCK=$(getconf CLK_TCK)
NPROC=$(nproc)

# start_fake NAME MESSAGES: a fresh fake server; sets FAKE_PID and FAKE_URL.
start_fake() {
  local name=$1 messages=$2 port_file=$TMP/$1.port i
  python3 "$BENCH_DIR/fake_google.py" --messages "$messages" --port-file "$port_file" \
    2>"$TMP/$name.fake.log" &
  FAKE_PID=$!
  for ((i = 0; i < 100; i++)); do # up to 10 s
    [[ -s $port_file ]] && break
    kill -0 "$FAKE_PID" 2>/dev/null || {
      cat "$TMP/$name.fake.log" >&2
      die "the fake server exited during startup"
    }
    sleep 0.1
  done
  [[ -s $port_file ]] || die "the fake server did not start within 10 s"
  FAKE_URL="http://127.0.0.1:$(tr -d '\n' <"$port_file")"
}

# fake_stats: the fake's counters, as one line of JSON.
fake_stats() { curl -sS --max-time 10 "$FAKE_URL/_stats" || die "GET $FAKE_URL/_stats failed"; }

# jget JSON EXPR: a Python expression over `d` (the parsed JSON).
jget() { python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

# delta KEY A B: what changed in the fake's counters KEY ("byEndpoint", "byStatus") from stats A
# to stats B, as "name=count …" (token endpoint left out; a "gmail." prefix dropped).
delta() {
  python3 - "$@" <<'PY'
import json, sys
key, a, b = sys.argv[1], json.loads(sys.argv[2])[sys.argv[1]], json.loads(sys.argv[3])[sys.argv[1]]
out = []
for k in sorted(b):
    if b[k] != a.get(k, 0) and k != "token" and not k.startswith("token:"):
        name = k[len("gmail."):] if k.startswith("gmail.") else k
        out.append(f"{name}={b[k] - a.get(k, 0)}")
print(" ".join(out))
PY
}

# proc_ticks PID: CPU ticks (user+system, all threads) of a process, as ps reads them.
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# machine_ticks: "busy total" jiffies of the whole machine.
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }

now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

# The account and [poll] tables every config starts with.
config_head() { # config_head DB
  cat <<EOF
# Written by bench/poll.sh.
[store]
path = "$1"

[poll]
timeout = "30s"

[accounts.bench]
provider = "google"
email = "founder@example.com"
client_id = "$BENCH_CLIENT_ID"
client_secret = "env:BENCH_CLIENT_SECRET"
refresh_token = "env:BENCH_REFRESH_TOKEN"
token_url = "$FAKE_URL/token"

[accounts.bench.quota]
gmail_units = 100000000   # so the quota does not throttle the benchmark
EOF
}

check_config() { # check_config CONFIG
  "$TRMCTL" --config "$1" --color never config check >"$TMP/config-check.out" 2>&1 || {
    cat "$TMP/config-check.out" >&2
    die "the generated config does not pass 'trmctl config check' ($1)"
  }
}

problems=()

# --- 1. idle poll of ten integrations ----------------------------------------------------------

log "part 1: idle poll of ten integrations"
start_fake idle 25
IDLE_DIR=$TMP/idle
mkdir -p "$IDLE_DIR"
IDLE_CONFIG=$IDLE_DIR/config.toml
{
  config_head "$IDLE_DIR/trmctl.db"
  for k in 1 2 3 4 5 6; do
    cat <<EOF

[integrations.crm-$k]
kind = "http-poll"
url = "$FAKE_URL/crm/$k/contacts"
auth = { type = "bearer", token = "env:BENCH_CRM_TOKEN" }
items = "/data"
id = "/id"
updated_at = "/updatedAt"
cursor_param = "modified_since"
EOF
  done
  cat <<EOF

[integrations.mail]
kind = "gmail"
account = "bench"
base_url = "$FAKE_URL"

[integrations.sheet]
kind = "google-sheets"
account = "bench"
spreadsheet_id = "bench-sheet"
range = "Projects!A1:D"
key_column = "Project ID"
base_url = "$FAKE_URL"

[integrations.drive]
kind = "google-drive"
account = "bench"
base_url = "$FAKE_URL"

[integrations.calendar]
kind = "google-calendar"
account = "bench"
calendar_id = "primary"
base_url = "$FAKE_URL"
EOF
} >"$IDLE_CONFIG"
check_config "$IDLE_CONFIG"

# The first poll syncs everything.
S0=$(fake_stats)
timeout -k 5 120 "$TRMCTL" --config "$IDLE_CONFIG" poll --json >"$IDLE_DIR/sync.json" 2>"$IDLE_DIR/sync.err" || {
  cat "$IDLE_DIR/sync.json" "$IDLE_DIR/sync.err" >&2
  die "the first (syncing) trmctl poll failed"
}
SYNC_SUMMARY=$(python3 - "$IDLE_DIR/sync.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
bad = [x["name"] for x in r if x["status"] != "ok"]
print(len(r), sum(x["requests"] for x in r), sum(x["eventsCreated"] for x in r), ",".join(bad) or "-")
PY
)
read -r SYNC_N SYNC_REQS SYNC_EVENTS SYNC_BAD <<<"$SYNC_SUMMARY"
[[ $SYNC_BAD == - ]] || die "the first poll failed for: $SYNC_BAD ($(cat "$IDLE_DIR/sync.json"))"
((SYNC_N == 10)) || die "the first poll reported $SYNC_N integrations, not 10"

# Nothing changed: the measured poll.
S1=$(fake_stats)
t0=$(now_ns)
timeout -k 5 120 "$TRMCTL" --config "$IDLE_CONFIG" poll --json >"$IDLE_DIR/idle.json" 2>"$IDLE_DIR/idle.err" || {
  cat "$IDLE_DIR/idle.json" "$IDLE_DIR/idle.err" >&2
  die "the idle trmctl poll --json failed"
}
t1=$(now_ns)
IDLE_ONE_WALL=$(secs "$t0" "$t1")
S2=$(fake_stats)
IDLE_REPORT=$(python3 - "$IDLE_DIR/idle.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
bad = [x["name"] for x in r if x["status"] != "ok"]
print(sum(x["requests"] for x in r), sum(x["eventsCreated"] for x in r), ",".join(bad) or "-", len(r))
print(" ".join(f'{x["name"]}={x["requests"]}' for x in r))
PY
)
read -r IDLE_JSON_REQS IDLE_EVENTS IDLE_BAD IDLE_N <<<"$(head -n 1 <<<"$IDLE_REPORT")"
IDLE_PER=$(tail -n 1 <<<"$IDLE_REPORT")
IDLE_FAKE_REQS=$(($(jget "$S2" 'd["requests"]') - $(jget "$S1" 'd["requests"]')))
IDLE_TOKEN_REQS=$(($(jget "$S2" 'd["tokenRequests"]') - $(jget "$S1" 'd["tokenRequests"]')))
IDLE_FAKE_PER=$(delta byEndpoint "$S1" "$S2")
IDLE_FAKE_STATUS=$(delta byStatus "$S1" "$S2")
[[ $IDLE_BAD == - ]] || problems+=("idle poll: not ok: $IDLE_BAD")
((IDLE_N == 10)) || problems+=("idle poll: $IDLE_N reports, not 10")
((IDLE_EVENTS == 0)) || problems+=("idle poll: $IDLE_EVENTS events created with nothing changed")

# Wall time of the idle poll, many runs (every run is idle too).
S3=$(fake_stats)
if ((HAVE_HYPERFINE)); then
  TIMER="hyperfine -N --warmup 2 --runs $IDLE_RUNS"
  IDLE_CALLS=$((IDLE_RUNS + 2))
  log "timing the idle poll: $TIMER"
  timeout -k 5 $((IDLE_CALLS * 60)) hyperfine -N --warmup 2 --runs "$IDLE_RUNS" --style basic \
    --export-json "$IDLE_DIR/hyperfine.json" "$TRMCTL --config $IDLE_CONFIG poll" \
    >"$IDLE_DIR/hyperfine.out" 2>&1 || {
    cat "$IDLE_DIR/hyperfine.out" >&2
    die "hyperfine of the idle poll failed"
  }
  read -r W_MEAN W_SD W_MEDIAN W_MIN W_MAX < <(python3 - "$IDLE_DIR/hyperfine.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(*(f"{r[k] * 1000:.1f}" for k in ("mean", "stddev", "median", "min", "max")))
PY
)
else
  TIMER="/usr/bin/time, $IDLE_RUNS runs"
  IDLE_CALLS=$IDLE_RUNS
  log "timing the idle poll: $TIMER"
  : >"$IDLE_DIR/times"
  for ((i = 0; i < IDLE_RUNS; i++)); do
    /usr/bin/time -f '%e' -a -o "$IDLE_DIR/times" timeout -k 5 60 \
      "$TRMCTL" --config "$IDLE_CONFIG" poll >/dev/null 2>>"$IDLE_DIR/timed.err" ||
      die "an idle poll failed ($(tail -n 3 "$IDLE_DIR/timed.err"))"
  done
  read -r W_MEAN W_SD W_MEDIAN W_MIN W_MAX < <(python3 - "$IDLE_DIR/times" <<'PY'
import statistics, sys
t = [float(l) * 1000 for l in open(sys.argv[1]) if l.strip() and l[0].isdigit()]
print(*(f"{v:.1f}" for v in (statistics.mean(t), statistics.pstdev(t), statistics.median(t), min(t), max(t))))
PY
)
fi
S4=$(fake_stats)
PER_RUN_REQS=$(awk -v a="$(jget "$S3" 'd["requests"]')" -v b="$(jget "$S4" 'd["requests"]')" -v n="$IDLE_CALLS" \
  'BEGIN { printf "%.1f", (b - a) / n }')
PER_RUN_TOKEN=$(awk -v a="$(jget "$S3" 'd["tokenRequests"]')" -v b="$(jget "$S4" 'd["tokenRequests"]')" -v n="$IDLE_CALLS" \
  'BEGIN { printf "%.1f", (b - a) / n }')
IDLE_ERRORS=$(jget "$S4" 'sum(v for k, v in d["byStatus"].items() if int(k.split(":")[-1]) >= 400)')
((IDLE_ERRORS == 0)) || problems+=("idle: the fake answered $IDLE_ERRORS errors ($(jget "$S4" 'd["byStatus"]'))")
stop_fake

if ((IDLE_JSON_REQS == 10 && IDLE_FAKE_REQS == 10)); then IDLE_TARGET=met; else IDLE_TARGET="NOT met"; fi

# --- 2. initial Gmail full sync ----------------------------------------------------------------

declare -A G_RSS G_WALL G_RATE G_STORED G_DISTINCT G_REQS G_FAKE G_FAKE_PER G_TOKEN G_TCPU G_FCPU G_BUSY \
  G_NEXT G_BOTTLENECK G_FAKE_RSS G_PAGES
for N in "${SIZE_LIST[@]}"; do
  log "part 2: initial Gmail full sync of $N messages"
  start_fake "gmail-$N" "$N"
  DIR=$TMP/gmail-$N
  mkdir -p "$DIR"
  CONFIG=$DIR/config.toml
  DB=$DIR/trmctl.db
  {
    config_head "$DB"
    cat <<EOF

[integrations.bench-gmail]
kind = "gmail"
account = "bench"
base_url = "$FAKE_URL"
EOF
  } >"$CONFIG"
  check_config "$CONFIG"

  A=$(fake_stats)
  f0=$(proc_ticks "$FAKE_PID")
  read -r m0 t0m < <(machine_ticks)
  t0=$(now_ns)
  rc=0
  /usr/bin/time -v -o "$DIR/time.txt" timeout -k 5 "$GMAIL_TIMEOUT" \
    "$TRMCTL" --config "$CONFIG" poll --json bench-gmail >"$DIR/report.json" 2>"$DIR/poll.err" || rc=$?
  t1=$(now_ns)
  f1=$(proc_ticks "$FAKE_PID")
  read -r m1 t1m < <(machine_ticks)
  B=$(fake_stats)
  G_FAKE_RSS[$N]=$(ps -o rss= -p "$FAKE_PID" | tr -d ' ')
  if ((rc != 0)); then
    cat "$DIR/report.json" >&2
    tail -n 20 "$DIR/poll.err" >&2
    ((rc == 124 || rc == 137)) && die "the full sync of $N messages took over ${GMAIL_TIMEOUT}s (GMAIL_TIMEOUT)"
    die "trmctl poll bench-gmail ($N messages) exited $rc"
  fi

  WALL=$(secs "$t0" "$t1")
  read -r RSS_KB USER_S SYS_S < <(awk -F': ' '
    /Maximum resident set size/ { rss = $2 }
    /User time \(seconds\)/ { u = $2 }
    /System time \(seconds\)/ { s = $2 }
    END { print rss, u, s }' "$DIR/time.txt")
  read -r R_STATUS R_REQS R_ITEMS R_EVENTS < <(python3 - "$DIR/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))[0]
print(r["status"], r["requests"], r["itemsFetched"], r["eventsCreated"])
PY
)
  [[ $R_STATUS == ok ]] || problems+=("gmail $N: poll status $R_STATUS")
  read -r STORED DISTINCT < <(python3 - "$DB" <<'PY'
import sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=10)
print(*con.execute("SELECT count(*), count(DISTINCT dedupe_key) FROM events "
                   "WHERE integration = 'bench-gmail' AND event_type = 'emailReceived'").fetchone())
PY
)
  ((STORED == N)) || problems+=("gmail $N: $STORED emailReceived events stored, not $N")
  ((DISTINCT == STORED)) || problems+=("gmail $N: $((STORED - DISTINCT)) repeated dedupe keys")
  ((R_EVENTS == N)) || problems+=("gmail $N: the report says $R_EVENTS events created, not $N")
  ERRS=$(jget "$B" 'sum(v for k, v in d["byStatus"].items() if int(k.split(":")[-1]) >= 400)')
  ((ERRS == 0)) || problems+=("gmail $N: the fake answered $ERRS errors ($(jget "$B" 'd["byStatus"]'))")

  # After the sync, the next poll has nothing new: one history.list.
  C=$(fake_stats)
  timeout -k 5 60 "$TRMCTL" --config "$CONFIG" poll --json bench-gmail >"$DIR/next.json" 2>"$DIR/next.err" ||
    die "the poll after the $N-message sync failed: $(tail -n 3 "$DIR/next.err")"
  D=$(fake_stats)
  G_NEXT[$N]="$(jget "$(cat "$DIR/next.json")" 'd[0]["requests"]') req ($(jget "$D" 'd["requests"]') - $(jget "$C" 'd["requests"]') at the fake), $(jget "$(cat "$DIR/next.json")" 'd[0]["eventsCreated"]') events"
  stop_fake

  G_RSS[$N]=$RSS_KB
  G_WALL[$N]=$WALL
  G_RATE[$N]=$(awk -v n="$N" -v w="$WALL" 'BEGIN { printf "%.0f", n / w }')
  G_STORED[$N]=$STORED
  G_REQS[$N]=$R_REQS
  G_FAKE[$N]=$(($(jget "$B" 'd["requests"]') - $(jget "$A" 'd["requests"]')))
  G_TOKEN[$N]=$(($(jget "$B" 'd["tokenRequests"]') - $(jget "$A" 'd["tokenRequests"]')))
  G_FAKE_PER[$N]=$(delta byEndpoint "$A" "$B")
  G_PAGES[$N]=$(jget "$B" 'd["byEndpoint"].get("gmail.messages.list", 0)')
  G_TCPU[$N]=$(awk -v u="$USER_S" -v s="$SYS_S" -v w="$WALL" 'BEGIN { printf "%.2f", (u + s) / w }')
  G_FCPU[$N]=$(awk -v a="$f0" -v b="$f1" -v hz="$CLK_TCK" -v w="$WALL" 'BEGIN { printf "%.2f", (b - a) / hz / w }')
  G_BUSY[$N]=$(awk -v a="$m0" -v b="$m1" -v c="$t0m" -v d="$t1m" 'BEGIN { printf "%.0f", (d > c) ? 100 * (b - a) / (d - c) : 0 }')
  # The fake is one Python process: under the GIL it cannot use more than about one core.
  G_BOTTLENECK[$N]=$(awk -v f="${G_FCPU[$N]}" -v t="${G_TCPU[$N]}" -v busy="${G_BUSY[$N]}" -v np="$NPROC" 'BEGIN {
    if (f >= 0.85 && f >= t) print "the fake (Python, one core under the GIL, was " int(f * 100 + 0.5) "% busy)"
    else if (t >= 0.85 * np) print "trmctl (it used all " np " cores)"
    else if (busy >= 90) print "the machine (" np " cores " busy "% busy: fake " f " + trmctl " t " cores)"
    else if (t >= 0.85 && t > f) print "trmctl (" t " cores: one busy thread)"
    else print "neither side saturated a core (fake " f ", trmctl " t " cores): latency-bound, 8 messages.get in flight, pages in sequence" }')
done

# --- summary -----------------------------------------------------------------------------------

FIRST=${SIZE_LIST[0]}
LAST=${SIZE_LIST[${#SIZE_LIST[@]} - 1]}
RSS_RATIO=$(awk -v a="${G_RSS[$FIRST]}" -v b="${G_RSS[$LAST]}" 'BEGIN { printf "%.2f", (a > 0) ? b / a : 0 }')
RSS_TARGET=$(awk -v r="$RSS_RATIO" -v m="$FLAT_MAX" 'BEGIN { print (r <= m) ? "met" : "NOT met" }')
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

cat <<EOF

trmctl poll benchmark  ($(date -u +%Y-%m-%dT%H:%M:%SZ), $NPROC cores, load avg $(cut -d' ' -f1-3 /proc/loadavg))
  binary $TRMCTL ($("$TRMCTL" --version 2>/dev/null || echo '?')); fake Google: bench/fake_google.py (Python $(python3 -c 'import platform; print(platform.python_version())'), ThreadingHTTPServer, loopback)

1. Idle poll of ten integrations (6 http-poll with ETag + gmail, google-sheets, google-drive, google-calendar)
  first poll (sync)              $SYNC_REQS requests, $SYNC_EVENTS events
  idle poll --json: requests     $IDLE_JSON_REQS   (sum of "requests": $IDLE_PER)
  idle poll: fake saw            $IDLE_FAKE_REQS   ($IDLE_FAKE_PER; statuses $IDLE_FAKE_STATUS)
  token endpoint (not counted)   $IDLE_TOKEN_REQS refresh request(s) in that run (refresh token from env:, access tokens kept in memory)
  target: one per integration    $IDLE_TARGET (10)
  events created when idle       $IDLE_EVENTS
  wall time, idle poll           mean $W_MEAN ms ± $W_SD, median $W_MEDIAN, min $W_MIN, max $W_MAX ms  ($TIMER)
                                 (the single --json run above: $(awk -v s="$IDLE_ONE_WALL" 'BEGIN { printf "%.1f", s * 1000 }') ms)
  requests per timed run         $PER_RUN_REQS at the fake (+ $PER_RUN_TOKEN token)

2. Initial Gmail full sync (profile, messages.list maxResults=500, messages.get format=metadata; gmail_units = 100000000)
EOF
printf '  %9s  %10s  %8s  %7s  %9s  %16s  %10s  %8s  %6s\n' messages "peak RSS" wall msg/s "events" "requests trm/fake" "trmctl CPU" "fake CPU" busy
for N in "${SIZE_LIST[@]}"; do
  printf '  %9d  %10s  %7ss  %7d  %9d  %16s  %10s  %8s  %5s%%\n' "$N" "$(mib "${G_RSS[$N]}")" "${G_WALL[$N]}" \
    "${G_RATE[$N]}" "${G_STORED[$N]}" "${G_REQS[$N]}/${G_FAKE[$N]}" "${G_TCPU[$N]}" "${G_FCPU[$N]}" "${G_BUSY[$N]}"
done
echo
for N in "${SIZE_LIST[@]}"; do
  cat <<EOF
  $N messages
    peak RSS (/usr/bin/time -v)   ${G_RSS[$N]} kB = $(mib "${G_RSS[$N]}")
    throughput                    ${G_RATE[$N]} messages/s over ${G_WALL[$N]} s
    events stored                 ${G_STORED[$N]} emailReceived ($( ((G_STORED[$N] == N)) && echo "= $N messages" || echo "!= $N messages"))
    requests at the fake          ${G_FAKE_PER[$N]} (+ ${G_TOKEN[$N]} token)
    bottleneck                    ${G_BOTTLENECK[$N]}
    fake RSS after (ps)           $(mib "${G_FAKE_RSS[$N]:-0}")
    next poll (nothing new)       ${G_NEXT[$N]}
EOF
done
cat <<EOF

  peak RSS ${LAST} / ${FIRST}          $(mib "${G_RSS[$LAST]}") / $(mib "${G_RSS[$FIRST]}") = $RSS_RATIO   (target flat, <= $FLAT_MAX: $RSS_TARGET)
  at Gmail's default quota (6000 units/min, messages.get = 5) a full sync is quota-bound at ~20 messages/s:
  $(awk -v n="$LAST" 'BEGIN { printf "%d messages take about %.0f min", n, n / 1200 }'), whatever the speed of either side here.
EOF

if ((${#problems[@]} > 0)); then
  echo
  for p in "${problems[@]}"; do echo "  FAIL: $p"; done
  exit 1
fi
echo "  result                        valid"
