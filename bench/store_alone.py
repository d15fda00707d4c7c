"""Measures what the database alone can store, with no HTTP in the way: the ceiling for
bench/webhooks.sh's ingest rate on this machine.

It writes COUNT deliveries of the pre-signed set (bench/gen_deliveries.py's lines) into DB,
a fresh database that `trmctl` created (so its schema, indexes and WAL mode are trmctl's own),
each as trmctl's inbox writer stores it: the `deliveries` row (body, headers, state `done`)
and its `githubEventReceived` event (the body again, in `data`), with `synchronous=FULL` and
BATCH deliveries per transaction, far more than the ~15 a commit takes under wrk's 32
connections (kinder to the database, not harsher).

IDS says which provider delivery ids the rows get:
  sent        the pre-signed ones (random UUIDs, as GitHub's are): every row lands on its own
              page of the two dedupe indexes, (integration, provider_delivery_id) and
              (integration, dedupe_key);
  sequential  ever-increasing ones: those index pages fill in order, as no provider's ids do.
              The best case, to show what the random ones cost.

Prints one line: `STORE ids=… batch=B deliveries=N seconds=S rate=R cpu_us=C`: deliveries per
second and this process's CPU time (user and system) per delivery, the rows built before the
clock starts. BATCH 1 is one commit, one fsync, per delivery: what ingest would collapse to
without group commit. Standard library only (Python's own SQLite, not the one built
into trmctl; both are the same B-tree and WAL code).

Usage: store_alone.py DB DELIVERIES_PREFIX COUNT BATCH IDS
"""

import glob
import sqlite3
import sys
import time
import uuid

INTEGRATION = "bench-github"
NOW = "2026-01-01T00:00:00.000000Z"


def time_ordered_ids(count: int) -> list[str]:
    """UUIDs that sort in the order made, like trmctl's UUIDv7 delivery and event ids."""
    base = (time.time_ns() // 1_000_000) << 80
    return [str(uuid.UUID(int=base + n)) for n in range(count)]


def load_sent(prefix: str, count: int) -> list[tuple[str, str]]:
    """The first COUNT (delivery id, body) pairs of the pre-signed set."""
    sent = []
    for path in sorted(glob.glob(glob.escape(prefix) + ".*")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                delivery, _signature, body = line.rstrip("\n").split("\t", 2)
                sent.append((delivery, body))
                if len(sent) == count:
                    return sent
    return sent


def rows(sent: list[tuple[str, str]], ids: str):
    """The deliveries rows and the events rows, as trmctl writes them."""
    delivery_ids = time_ordered_ids(len(sent))
    event_ids = time_ordered_ids(len(sent))
    deliveries, events = [], []
    for n, (provider_id, body) in enumerate(sent):
        if ids == "sequential":
            provider_id = f"{n:036d}"
        headers = (
            '{"content-type":"application/json","user-agent":"GitHub-Hookshot/trmctl-bench",'
            f'"x-github-delivery":"{provider_id}","x-github-event":"issues"}}'
        )
        deliveries.append(
            (delivery_ids[n], INTEGRATION, provider_id, NOW, "application/json", headers,
             body.encode(), NOW)
        )
        data = (
            '{"event":"issues","action":"opened","repository":"acme/widgets",'
            f'"sender":"octocat","payload":{body}}}'
        )
        events.append(
            (event_ids[n], INTEGRATION, provider_id, f"github:{provider_id}", NOW, NOW,
             "issues.opened on acme/widgets", data)
        )
    return deliveries, events


def store(db: str, deliveries: list, events: list, batch: int) -> tuple[float, float]:
    """Stores everything, BATCH deliveries a transaction; the seconds it took and the CPU
    seconds it used."""
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA synchronous = FULL")
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA journal_size_limit = 67108864")
    if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        raise SystemExit(f"store_alone: {db} is not in WAL mode; was it made by trmctl?")
    started, cpu_started = time.perf_counter(), time.process_time()
    for start in range(0, len(deliveries), batch):
        con.execute("BEGIN IMMEDIATE")
        con.executemany(
            """INSERT INTO deliveries (delivery_id, integration, provider_delivery_id,
                   received_at, content_type, headers, body, next_attempt_at, state, attempts)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'done', 1)""",
            deliveries[start:start + batch],
        )
        con.executemany(
            """INSERT INTO events (event_id, event_type, integration, source_system,
                   external_id, dedupe_key, occurred_at, received_at, subject, data)
               VALUES (?, 'githubEventReceived', ?, 'github', ?, ?, ?, ?, ?, ?)""",
            events[start:start + batch],
        )
        con.execute("COMMIT")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    con.close()
    return seconds, cpu


def main() -> int:
    if len(sys.argv) != 6 or sys.argv[5] not in ("sent", "sequential"):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    db, prefix, count, batch, ids = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    sent = load_sent(prefix, count)
    if len(sent) < count or batch < 1:
        print(f"store_alone: need BATCH >= 1 and {count} deliveries in {prefix}.*", file=sys.stderr)
        return 2
    deliveries, events = rows(sent, ids)
    seconds, cpu = store(db, deliveries, events, batch)
    print(
        f"STORE ids={ids} batch={batch} deliveries={count} seconds={seconds:.3f} "
        f"rate={count / seconds:.1f} cpu_us={cpu * 1e6 / count:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
