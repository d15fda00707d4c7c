#!/usr/bin/env bash
# Webhook ingest benchmark (SPEC §11): in one run against one `trmctl serve` (release build),
# measures side by side
#   1. GET /healthz requests per second,
#   2. signed, verified, durably stored GitHub deliveries per second (POST /hooks/bench-github),
#   3. p50/p99 latency of both,
# then checks that every delivery answered 202 is in the database, measures what the database
# alone stores per second with no HTTP at all (bench/store_alone.py: the ceiling for ingest on
# this machine), in transactions of the size the server's group commit reached, and with one
# commit per delivery (the floor group commit lifts ingest from),
# and prints a summary with the ratio ingest/healthz (SPEC target: >= 0.5) and the CPU per
# delivery the target would leave the server beside what it and the database alone use.
#
# Usage: bash bench/webhooks.sh
#
# Knobs (environment):
#   DURATION=10            seconds per measured run (healthz, then ingest)
#   THREADS=2              wrk threads
#   CONNECTIONS=32         wrk connections (both runs)
#   WORKER_CONCURRENCY=4   [worker] concurrency of the server
#   MAX_RATE=40000         upper bound on ingest req/s, sizes the pre-signed set:
#   DELIVERIES=DURATION*MAX_RATE   pre-signed unique deliveries (the run fails if wrk needs more)
#   WARMUP=2               seconds of /healthz before measuring (0: none)
#   TRMCTL=target/release/trmctl   the binary (built with `cargo build --release` if missing)
#   KEEP_TMP=1             keep the temp dir (database, config, server log) and print its path
#
# Exit status: 0 when the measurement is valid (whatever the ratio; the summary says whether
# the target is met), 1 when it is not (non-2xx or socket errors, repeated delivery ids, stored
# count not matching the 202s, server failure), 2 on bad usage.
#
# Everything stays on loopback; the server binds 127.0.0.1 on a free port. The database,
# config, generated requests and server log live in a `mktemp -d` directory removed on exit.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")

DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
WORKER_CONCURRENCY=${WORKER_CONCURRENCY:-4}
MAX_RATE=${MAX_RATE:-40000}
WARMUP=${WARMUP:-2}
DELIVERIES=${DELIVERIES:-$((DURATION * MAX_RATE))}
TRMCTL=${TRMCTL:-$ROOT/target/release/trmctl}
INTEGRATION=bench-github

for v in DURATION THREADS CONNECTIONS WORKER_CONCURRENCY MAX_RATE WARMUP DELIVERIES; do
  if ! [[ ${!v} =~ ^[0-9]+$ ]]; then
    echo "webhooks.sh: $v must be a whole number, got '${!v}'" >&2
    exit 2
  fi
done
if ((DURATION < 1 || THREADS < 1 || CONNECTIONS < THREADS || DELIVERIES < 1)); then
  echo "webhooks.sh: need DURATION >= 1, THREADS >= 1, CONNECTIONS >= THREADS, DELIVERIES >= 1" >&2
  exit 2
fi

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
  printf '[bench] FAILED: %s\n' "$*" >&2
  exit 1
}

# --- tools -------------------------------------------------------------------------------------

command -v python3 >/dev/null || die "python3 is required"
if ! command -v wrk >/dev/null; then
  log "installing wrk"
  if ! apt-get install -y wrk >/dev/null 2>&1; then
    apt-get update >/dev/null 2>&1 || true
    apt-get install -y wrk >/dev/null || die "could not install wrk (apt-get install -y wrk)"
  fi
fi
if [[ ! -x $TRMCTL ]]; then
  log "no $TRMCTL: cargo build --release"
  (cd "$ROOT" && cargo build --release) || die "cargo build --release failed"
  [[ -x $TRMCTL ]] || die "still no binary at $TRMCTL"
fi

# --- temp dir, cleanup -------------------------------------------------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/trmctl-bench.XXXXXX")
SERVER_PID=""
WRK_PID="" # the wrk of the run in progress, stopped if this script is interrupted

stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 300; i++)); do # up to 30 s (shutdown_timeout is 20 s)
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "server did not stop within 30 s of SIGTERM; killing it"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

cleanup() {
  local rc=$?
  if [[ -n $WRK_PID ]] && kill -0 "$WRK_PID" 2>/dev/null; then
    kill -TERM "$WRK_PID" 2>/dev/null || true
  fi
  stop_server
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

# --- config, secret, pre-signed deliveries -----------------------------------------------------

BENCH_GITHUB_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export BENCH_GITHUB_SECRET

DB=$TMP/trmctl.db
CONFIG=$TMP/config.toml
cat >"$CONFIG" <<EOF
# Written by bench/webhooks.sh.
[store]
path = "$DB"

[server]
bind = "127.0.0.1:0"   # any free loopback port; read back from the "listening on" log line

[worker]
concurrency = $WORKER_CONCURRENCY

[integrations.$INTEGRATION]
kind = "github"
secret = "env:BENCH_GITHUB_SECRET"
rate_limit = 1000000   # never the bottleneck here
EOF

"$TRMCTL" --config "$CONFIG" --color never config check >/dev/null ||
  die "the generated config does not pass 'trmctl config check' ($CONFIG)"

REQS=$TMP/deliveries # one file per wrk thread: deliveries.0, deliveries.1, …
log "signing $DELIVERIES unique GitHub deliveries"
python3 "$BENCH_DIR/gen_deliveries.py" "$DELIVERIES" "$THREADS" "$REQS" || die "generating deliveries failed"

# --- server ------------------------------------------------------------------------------------

SERVE_LOG=$TMP/serve.log
"$TRMCTL" --config "$CONFIG" --color never serve 2>"$SERVE_LOG" &
SERVER_PID=$!

ADDR=""
for ((i = 0; i < 300; i++)); do # up to 30 s
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    tail -n 20 "$SERVE_LOG" >&2 || true
    die "trmctl serve exited during startup"
  fi
  ADDR=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$SERVE_LOG" | head -n 1 | sed 's|.*http://||') || true
  [[ -n $ADDR ]] && break
  sleep 0.1
done
[[ -n $ADDR ]] || die "trmctl serve did not log 'listening on http://…' within 30 s"
case $ADDR in 127.*) ;; *) die "server is not on loopback: $ADDR" ;; esac
BASE=http://$ADDR
log "server pid $SERVER_PID on $BASE"

# --- measuring helpers -------------------------------------------------------------------------

CLK_TCK=$(getconf CLK_TCK)

# The block device the database lives on (e.g. vda), for its write counters; empty when the
# directory is not on a plain block device (tmpfs, overlay).
DISK=$(basename "$(df --output=source "$TMP" | tail -n 1)")
grep -q " $DISK " /proc/diskstats 2>/dev/null || DISK=""

# "sectors-written write-IOs" of $DISK so far (512-byte sectors), or "0 0".
disk_writes() { awk -v d="$DISK" '$3 == d { print $10, $8; found = 1 } END { if (!found) print 0, 0 }' /proc/diskstats; }

# "busy total" jiffies of the whole machine (all cores).
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }

# The pid of the wrk process under PID (searching a few levels of children), or nothing.
find_wrk() {
  local pids=("$1") depth p next kids
  for ((depth = 0; depth < 6 && ${#pids[@]} > 0; depth++)); do
    next=()
    for p in "${pids[@]}"; do
      if [[ $(cat "/proc/$p/comm" 2>/dev/null) == wrk ]]; then
        echo "$p"
        return 0
      fi
      kids=()
      # The file has no trailing newline, so `read` reports EOF even when it read the list.
      read -r -a kids <"/proc/$p/task/$p/children" 2>/dev/null || true
      next+=("${kids[@]}")
    done
    pids=("${next[@]}")
  done
}
# CPU ticks of the server's threads by role: "tokio=… inbox-writer=… workers=… dispatcher=…".
server_thread_ticks() {
  local t comm
  for t in /proc/"$SERVER_PID"/task/*; do
    read -r comm <"$t/comm" 2>/dev/null || continue
    case $comm in
      tokio-rt-worker) comm=http ;;
      worker-*) comm=workers ;;
      inbox-writer | dispatcher) ;;
      *) comm=other ;;
    esac
    echo "$comm $(proc_ticks - "$t")"
  done | awk '{ a[$1] += $2 } END { for (k in a) printf "%s=%d ", k, a[k] }'
}
# proc_ticks PID [PROC_DIR]: CPU ticks (user+system) of a process (or of the thread at DIR).
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "${2:-/proc/$1}/stat" 2>/dev/null || echo 0; }

# run_wrk NAME URL SCRIPT [SCRIPT ARGS…]: runs wrk, keeps its output in $TMP/NAME.out, and sets
# RESULT (the BENCH line) and, over the measured part of the run (from wrk's "Running" line,
# i.e. once its threads have loaded their requests, to its exit): SERVER_CPU and WRK_CPU
# (cores used by each), MACHINE_BUSY (% of all cores busy, whatever was running), and
# DISK_MB (megabytes written to the database's disk) and DISK_MBPS / DISK_IOPS (per second).
run_wrk() {
  local name=$1 url=$2 script=$3
  shift 3
  local extra=()
  (($# > 0)) && extra=(-- "$@")
  : >"$TMP/$name.out"
  # `timeout` bounds wrk even if it hangs; stdbuf makes "Running" visible as soon as printed.
  (
    TIMEFORMAT='%U %S'
    time stdbuf -oL timeout -k 5 $((DURATION + 180)) \
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency \
      -s "$script" "$url" "${extra[@]}" >"$TMP/$name.out" 2>"$TMP/$name.err"
  ) 2>"$TMP/$name.time" &
  local job=$! i wpid="" s0 m0 t0 w0=0 start_ns s1 m1 t1 end_ns wrk_rc=0
  for ((i = 0; i < 1800; i++)); do # up to 180 s for wrk to load and start
    grep -q '^Running' "$TMP/$name.out" && break
    kill -0 "$job" 2>/dev/null || break
    sleep 0.1
  done
  start_ns=$(date +%s%N)
  s0=$(proc_ticks "$SERVER_PID")
  read -r m0 t0 < <(machine_ticks)
  local d0 dio0 d1 dio1
  read -r d0 dio0 < <(disk_writes)
  local roles0 roles1
  roles0=$(server_thread_ticks)
  wpid=$(find_wrk "$job") || true
  [[ -n $wpid ]] && w0=$(proc_ticks "$wpid")
  WRK_PID=$wpid
  wait "$job" || wrk_rc=$?
  WRK_PID=""
  end_ns=$(date +%s%N)
  s1=$(proc_ticks "$SERVER_PID")
  read -r m1 t1 < <(machine_ticks)
  read -r d1 dio1 < <(disk_writes)
  roles1=$(server_thread_ticks)
  if ((wrk_rc != 0)); then
    cat "$TMP/$name.out" "$TMP/$name.err" >&2
    die "wrk ($name) exited with status $wrk_rc"
  fi
  RESULT=$(grep '^BENCH ' "$TMP/$name.out" | tail -n 1) || true
  [[ -n $RESULT ]] || {
    cat "$TMP/$name.out" "$TMP/$name.err" >&2
    die "wrk ($name) printed no BENCH line"
  }
  local wall_s
  wall_s=$(awk -v a="$start_ns" -v b="$end_ns" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  SERVER_CPU=$(awk -v a="$s0" -v b="$s1" -v hz="$CLK_TCK" -v w="$wall_s" \
    'BEGIN { printf "%.2f", (b - a) / hz / w }')
  WRK_CPU=$(awk -v w0="$w0" -v hz="$CLK_TCK" -v w="$wall_s" -v ok="${wpid:+1}" \
    '{ if (ok) printf "%.2f", ($1 + $2 - w0 / hz) / w; else print "?" }' "$TMP/$name.time")
  # Cores per role: "http 0.40, inbox-writer 0.10, workers 0.30, dispatcher 0.02".
  SERVER_ROLES=$(awk -v a="$roles0" -v b="$roles1" -v hz="$CLK_TCK" -v w="$wall_s" 'BEGIN {
    n = split(a, x, " "); for (i = 1; i <= n; i++) { split(x[i], kv, "="); before[kv[1]] = kv[2] }
    n = split(b, y, " "); out = ""
    split("http inbox-writer workers dispatcher other", order, " ")
    for (i = 1; i <= n; i++) { split(y[i], kv, "="); after[kv[1]] = kv[2] }
    for (j = 1; j <= 5; j++) { k = order[j]; if (k in after)
      out = out sprintf("%s%s %.2f", (out == "" ? "" : ", "), k, (after[k] - before[k]) / hz / w) }
    print out }')
  DISK_MB=$(awk -v a="$d0" -v b="$d1" 'BEGIN { printf "%.1f", (b - a) * 512 / 1e6 }')
  DISK_MBPS=$(awk -v mb="$DISK_MB" -v w="$wall_s" 'BEGIN { printf "%.1f", mb / w }')
  DISK_IOPS=$(awk -v a="$dio0" -v b="$dio1" -v w="$wall_s" 'BEGIN { printf "%.0f", (b - a) / w }')
  MACHINE_BUSY=$(awk -v a="$m0" -v b="$m1" -v c="$t0" -v d="$t1" \
    'BEGIN { printf "%.0f", (d > c) ? 100 * (b - a) / (d - c) : 0 }')
}

# field KEY: a value from $RESULT; field_of LINE KEY: from LINE.
field_of() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
field() { field_of "$RESULT" "$1"; }
ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }

# --- 1. /healthz -------------------------------------------------------------------------------

if ((WARMUP > 0)); then
  log "warm-up: ${WARMUP}s of /healthz"
  timeout -k 5 $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$BASE/healthz" \
    >/dev/null 2>&1 || die "warm-up wrk failed"
fi

log "measuring GET /healthz: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
run_wrk healthz "$BASE/healthz" "$BENCH_DIR/healthz.lua"
H_RESULT=$RESULT
H_RPS=$(field window_rps) H_SKEW=$(field skew_ms) H_P50=$(field p50_us) H_P99=$(field p99_us) H_NON2XX=$(field non2xx)
H_ERRS=$(($(field err_connect) + $(field err_read) + $(field err_write) + $(field err_timeout)))
H_WRK_CPU=$WRK_CPU H_SERVER_CPU=$SERVER_CPU H_BUSY=$MACHINE_BUSY H_ROLES=$SERVER_ROLES
H_DISK_MBPS=$DISK_MBPS H_DISK_IOPS=$DISK_IOPS

# --- 2. signed deliveries ----------------------------------------------------------------------

log "measuring POST /hooks/$INTEGRATION: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s ($DELIVERIES pre-signed)"
run_wrk ingest "$BASE/hooks/$INTEGRATION" "$BENCH_DIR/ingest.lua" "$REQS"
I_RESULT=$RESULT
I_REQUESTS=$(field requests) I_RPS=$(field window_rps) I_SKEW=$(field skew_ms)
I_P50=$(field p50_us) I_P99=$(field p99_us)
I_N202=$(field n202) I_N2XX=$(field n2xx) I_NON2XX=$(field non2xx) I_STATUSES=$(field statuses)
I_SENT=$(field sent) I_WRAPPED=$(field wrapped) I_LOADED=$(field loaded)
I_ERRS=$(($(field err_connect) + $(field err_read) + $(field err_write) + $(field err_timeout)))
I_WRK_CPU=$WRK_CPU I_SERVER_CPU=$SERVER_CPU I_BUSY=$MACHINE_BUSY I_ROLES=$SERVER_ROLES
I_DISK_MB=$DISK_MB I_DISK_MBPS=$DISK_MBPS I_DISK_IOPS=$DISK_IOPS

kill -0 "$SERVER_PID" 2>/dev/null || die "trmctl serve died during the run (log: $SERVE_LOG)"

# Group commit at work: deliveries per inbox commit, from the server's own histogram.
COMMITS=$(python3 - "$BASE/metrics" <<'PY'
import sys, urllib.request

text = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
value = {}
for line in text.splitlines():
    name, _, number = line.partition(" ")
    if name in ("trmctl_inbox_commit_deliveries_sum", "trmctl_inbox_commit_deliveries_count"):
        value[name.rsplit("_", 1)[1]] = float(number)
print(int(value["count"]), int(value["sum"]))
PY
) || die "reading $BASE/metrics failed"
read -r COMMIT_COUNT COMMIT_DELIVERIES <<<"$COMMITS"

# --- 3. what is on disk ------------------------------------------------------------------------

# wrk stops with up to CONNECTIONS requests in flight: the server may still store those after
# wrk exits. Wait (bounded) until the count stops moving, then compare.
STORE_CHECK=$(python3 - "$DB" "$INTEGRATION" "$REQS" <<'PY'
import glob, sqlite3, sys, time

db, integration, reqs = sys.argv[1:4]
con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
query = """SELECT count(*), count(DISTINCT provider_delivery_id),
                  coalesce(sum(state = 'pending'), 0), coalesce(sum(state = 'done'), 0),
                  coalesce(sum(state = 'dead'), 0)
           FROM deliveries WHERE integration = ?"""
last, stable = None, 0
for _ in range(60):  # at most ~30 s
    row = con.execute(query, (integration,)).fetchone()
    stable = stable + 1 if row[0] == (last[0] if last else None) else 0
    last = row
    if stable >= 3:
        break
    time.sleep(0.5)
total, distinct, pending, done, dead = last
generated = set()
for path in glob.glob(glob.escape(reqs) + ".*"):
    with open(path, encoding="utf-8") as f:
        for line in f:
            generated.add(line.split("\t", 1)[0])
stored_ids = [r[0] for r in con.execute(
    "SELECT provider_delivery_id FROM deliveries WHERE integration = ?", (integration,))]
foreign = sum(1 for i in stored_ids if i not in generated)
others = con.execute("SELECT count(*) FROM deliveries WHERE integration != ?",
                     (integration,)).fetchone()[0]
print(total, distinct, foreign, others, pending, done, dead, stable >= 3)
PY
) || die "reading the database failed"
read -r STORED DISTINCT FOREIGN OTHERS PENDING DONE DEAD SETTLED <<<"$STORE_CHECK"

# --- 4. the database alone --------------------------------------------------------------------

# The ceiling for ingest here: the same rows stored straight into a fresh database trmctl made,
# with no HTTP in the way, in far bigger transactions than the server's. Then the floor group
# commit lifts it from: one transaction, one fsync, per delivery.
ALONE_BATCH=500
ALONE_COUNT=$((I_N202 < 20000 ? 20000 : I_N202))
((ALONE_COUNT <= DELIVERIES)) || ALONE_COUNT=$DELIVERIES
SINGLE_COUNT=$((DELIVERIES < 2000 ? DELIVERIES : 2000))
store_alone() { # NAME IDS BATCH COUNT: sets ALONE_RATE and ALONE_CPU_US
  local config=$TMP/alone-$1.toml db=$TMP/alone-$1.db
  printf '[store]\npath = "%s"\n' "$db" >"$config"
  "$TRMCTL" --config "$config" --color never events list >/dev/null || die "trmctl could not create $db"
  RESULT=$(python3 "$BENCH_DIR/store_alone.py" "$db" "$REQS" "$4" "$3" "$2") ||
    die "bench/store_alone.py ($1) failed"
  ALONE_RATE=$(field rate) ALONE_CPU_US=$(field cpu_us)
}
log "measuring the database alone: $ALONE_COUNT deliveries, $ALONE_BATCH a transaction, no HTTP"
store_alone sent sent "$ALONE_BATCH" "$ALONE_COUNT"
A_RPS=$ALONE_RATE A_CPU_US=$ALONE_CPU_US
store_alone sequential sequential "$ALONE_BATCH" "$ALONE_COUNT"
A_SEQ_RPS=$ALONE_RATE
# The same rows in transactions of the size group commit made during the run: what the database
# alone gives at the batches the server actually had, so the HTTP path's share shows.
SERVER_BATCH=$(awk -v d="$COMMIT_DELIVERIES" -v c="$COMMIT_COUNT" 'BEGIN { b = (c > 0) ? int(d / c + 0.5) : 1; print (b < 1) ? 1 : b }')
log "measuring the database alone at the server's batch: $ALONE_COUNT deliveries, $SERVER_BATCH a transaction"
store_alone batch sent "$SERVER_BATCH" "$ALONE_COUNT"
A_BATCH_RPS=$ALONE_RATE
log "measuring the database alone without group commit: $SINGLE_COUNT deliveries, one a transaction"
store_alone single sent 1 "$SINGLE_COUNT"
A_ONE_RPS=$ALONE_RATE

# --- summary -----------------------------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
of_healthz() { ratio "$1" "$H_RPS"; }
RATIO=$(of_healthz "$I_RPS")
times() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0) ? a / b : 0 }'; }
# CPU microseconds per request: CORES_USED RPS.
per_request() { awk -v c="$1" -v r="$2" 'BEGIN { printf "%.1f", (r > 0) ? c * 1e6 / r : 0 }'; }
# What the target leaves the server per delivery: at half the healthz rate, each delivery may
# take twice the machine time a healthz request took (all cores, as busy as then), less what
# wrk spends sending it. Storage, verification and HTTP all have to fit in it.
H_MACHINE_US=$(awk -v b="$H_BUSY" -v n="$(nproc)" -v r="$H_RPS" 'BEGIN { printf "%.1f", (r > 0) ? b / 100 * n * 1e6 / r : 0 }')
I_WRK_US=$(per_request "$I_WRK_CPU" "$I_RPS")
BUDGET_US=$(awk -v m="$H_MACHINE_US" -v w="$I_WRK_US" 'BEGIN { printf "%.1f", 2 * m - w }')
TARGET=$(awk -v r="$RATIO" 'BEGIN { print (r >= 0.5) ? "met" : "NOT met" }')
# Sent by wrk but never answered before it stopped (wrk also calls request() once, in thread
# 0, to check the script; that request is never sent).
IN_FLIGHT=$((I_SENT - 1 - I_REQUESTS))
EXTRA=$((STORED - I_N202))         # stored beyond the 202s wrk read

problems=()
(($(field_of "$H_RESULT" window_ms) > 0)) || problems+=("healthz: no window in which every wrk thread got answers")
(($(field_of "$I_RESULT" window_ms) > 0)) || problems+=("ingest: no window in which every wrk thread got 202s")
((H_NON2XX == 0)) || problems+=("healthz: $H_NON2XX non-2xx responses")
((H_ERRS == 0)) || problems+=("healthz: $H_ERRS socket errors/timeouts")
((I_NON2XX == 0)) || problems+=("ingest: $I_NON2XX non-2xx responses ($I_STATUSES)")
((I_N2XX == I_N202)) || problems+=("ingest: $((I_N2XX - I_N202)) 2xx answers that were not 202 ($I_STATUSES)")
((I_ERRS == 0)) || problems+=("ingest: $I_ERRS socket errors/timeouts")
((I_WRAPPED == 0)) || problems+=("ingest: wrk ran out of pre-signed deliveries and repeated them ($I_WRAPPED wrap-arounds); raise MAX_RATE or DELIVERIES")
((I_SENT <= DELIVERIES && I_REQUESTS <= DELIVERIES)) || problems+=("ingest: wrk sent $I_SENT requests but only $DELIVERIES unique deliveries exist")
((I_LOADED == DELIVERIES)) || problems+=("ingest: wrk loaded $I_LOADED of $DELIVERIES deliveries")
((STORED >= I_N202)) || problems+=("store: $((I_N202 - STORED)) deliveries answered 202 are NOT in the database")
((EXTRA <= IN_FLIGHT)) || problems+=("store: $STORED stored but wrk only sent $I_SENT")
((DISTINCT == STORED)) || problems+=("store: repeated provider delivery ids")
((FOREIGN == 0 && OTHERS == 0)) || problems+=("store: $FOREIGN unknown delivery ids, $OTHERS rows of other integrations")
[[ $SETTLED == True ]] || problems+=("store: the delivery count was still changing after 30 s")

# The database disk's writes during each run: what bounds ingest on a machine with a slow disk.
disk_line() {
  if [[ -z $DISK ]]; then
    echo "unknown ($TMP is not on a block device listed in /proc/diskstats)"
    return
  fi
  local per
  per=$(awk -v mb="$I_DISK_MB" -v n="$I_N202" 'BEGIN { printf "%.1f", (n > 0) ? mb * 1000 / n : 0 }')
  echo "$DISK: healthz $H_DISK_MBPS MB/s ($H_DISK_IOPS IO/s); ingest $I_DISK_MBPS MB/s ($I_DISK_IOPS IO/s), $per kB per delivery answered 202"
}

if ((EXTRA == 0)); then
  STORED_NOTE="= the 202s wrk saw"
else
  STORED_NOTE="= $I_N202 202s + $EXTRA sent before wrk stopped (their 202s were never read; $IN_FLIGHT were in flight)"
fi

cat <<EOF

trmctl webhook ingest benchmark  ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load avg $(cut -d' ' -f1-3 /proc/loadavg))
  wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency against $BASE, [worker] concurrency = $WORKER_CONCURRENCY

                   req/s       p50         p99       non-2xx   server CPU  wrk CPU  machine busy
  GET  /healthz  $(printf '%10.0f  %10s  %10s  %7d  %8s    %6s   %5s%%' "$H_RPS" "$(ms "$H_P50")" "$(ms "$H_P99")" "$H_NON2XX" "$H_SERVER_CPU" "$H_WRK_CPU" "$H_BUSY")
  POST /hooks    $(printf '%10.0f  %10s  %10s  %7d  %8s    %6s   %5s%%' "$I_RPS" "$(ms "$I_P50")" "$(ms "$I_P99")" "$I_NON2XX" "$I_SERVER_CPU" "$I_WRK_CPU" "$I_BUSY")

  healthz req/s           $H_RPS
  ingest req/s            $I_RPS   (202 = durably stored; statuses: $I_STATUSES)
  ingest / healthz        $RATIO   (SPEC target >= 0.5: $TARGET)
  database alone          $(printf '%.0f' "$A_RPS") deliveries/s = $(of_healthz "$A_RPS") of healthz   (no HTTP; $ALONE_COUNT deliveries, $ALONE_BATCH a transaction, synchronous=FULL)
                          $(printf '%.0f' "$A_SEQ_RPS") deliveries/s = $(of_healthz "$A_SEQ_RPS") of healthz with sequential provider ids (best case, no provider's)
  group commit            $(times "$COMMIT_DELIVERIES" "$COMMIT_COUNT") deliveries per inbox commit on average ($COMMIT_DELIVERIES in $COMMIT_COUNT commits, from /metrics)
                          the database alone at that batch ($SERVER_BATCH a transaction): $(printf '%.0f' "$A_BATCH_RPS") deliveries/s; ingest is $(ratio "$I_RPS" "$A_BATCH_RPS") of it
                          ingest is $(times "$I_RPS" "$A_ONE_RPS")x the database alone with one commit (one fsync) a delivery: $(printf '%.0f' "$A_ONE_RPS") deliveries/s ($SINGLE_COUNT deliveries)
  server CPU per delivery $(per_request "$I_SERVER_CPU" "$I_RPS") us; the target leaves it $BUDGET_US us (2 x $H_MACHINE_US us of machine time per healthz request - wrk's $I_WRK_US us per delivery)
                          the database alone uses $A_CPU_US us of CPU per delivery (Python's sqlite3, $ALONE_BATCH a transaction)
  p99 healthz / ingest    $(ms "$H_P99") / $(ms "$I_P99")
  non-2xx                 $H_NON2XX healthz, $I_NON2XX ingest
  stored deliveries       $STORED $STORED_NOTE
  unique deliveries       $DELIVERIES pre-signed, $I_SENT sent (no repeats: $( ((I_WRAPPED == 0)) && echo yes || echo NO))
  processed into events   $DONE done, $PENDING pending, $DEAD dead (at the time of the check)
  server CPU by thread    healthz: $H_ROLES
                          ingest:  $I_ROLES   (cores)
  disk writes             $(disk_line)
  rate window             healthz $(field_of "$H_RESULT" window_ms) ms, ingest $(field_of "$I_RESULT" window_ms) ms with every wrk thread running (one thread started ${H_SKEW}/${I_SKEW} ms early while the other loaded)
EOF

if ((${#problems[@]} > 0)); then
  echo
  for p in "${problems[@]}"; do echo "  FAIL: $p"; done
  echo "  raw: healthz: $H_RESULT"
  echo "  raw: ingest:  $I_RESULT"
  exit 1
fi
echo "  result                  valid"
