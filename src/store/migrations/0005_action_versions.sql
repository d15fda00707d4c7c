-- Versions of the objects actions keep up to date: a Google Task follows its source item (the
-- causing event's integration and externalId), so a later version of the same email, row or
-- record updates the task instead of creating a second one. What trmctl last wrote is kept to
-- tell a remote edit from its own (last write wins, with the task's etag as the version check).
CREATE TABLE action_versions (
    action         TEXT NOT NULL,
    integration    TEXT NOT NULL,
    source_id      TEXT NOT NULL,                     -- the causing event's externalId
    external_id    TEXT NOT NULL,                     -- the task's id
    first_event_id TEXT NOT NULL,                     -- the event that created it (its marker)
    etag           TEXT,                              -- the task's etag after trmctl's last write
    remote_updated TEXT,                              -- the task's `updated` after that write
    occurred_at    TEXT NOT NULL,                     -- occurredAt of the event last written
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (action, integration, source_id)
) STRICT;
