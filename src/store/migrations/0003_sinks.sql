-- Sinks: where events go next. One outbox row per sink holds its cursor into the event stream
-- (`last_seq`: every event up to it was delivered or dead-lettered) and the state of the event
-- after it (attempts, next attempt, last error). A 410 Gone disables a sink and keeps its state.

CREATE TABLE sinks (
    name            TEXT PRIMARY KEY,
    last_seq        INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,       -- failed attempts at the next event
    next_attempt_at TEXT,                             -- NULL: now
    last_error      TEXT,
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    disabled_reason TEXT,
    updated_at      TEXT NOT NULL
) STRICT;

-- Events a sink gave up on after max_attempts; the sink moved on past them.
CREATE TABLE sink_dead_letters (
    sink       TEXT NOT NULL REFERENCES sinks (name),
    seq        INTEGER NOT NULL,
    event_id   TEXT NOT NULL REFERENCES events (event_id),
    attempts   INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    failed_at  TEXT NOT NULL,
    PRIMARY KEY (sink, seq)
) STRICT;
