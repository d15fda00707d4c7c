-- Actions: objects trmctl creates elsewhere (a Google Task, a Slack message, an HTTP call) on
-- an event type. One row per action holds its cursor into the event stream, like a sink's.

CREATE TABLE actions (
    name            TEXT PRIMARY KEY,
    last_seq        INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,       -- failed attempts at the next event
    next_attempt_at TEXT,                             -- NULL: now
    last_error      TEXT,
    updated_at      TEXT NOT NULL
) STRICT;

-- What an action created for an event: a retry finds it here and creates nothing, and an
-- object that comes back through a poll or a webhook is recognised by its external id.
CREATE TABLE action_records (
    action      TEXT NOT NULL,
    event_id    TEXT NOT NULL REFERENCES events (event_id),
    kind        TEXT NOT NULL,
    external_id TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (action, event_id)
) STRICT;

CREATE INDEX action_records_external_id ON action_records (external_id);
