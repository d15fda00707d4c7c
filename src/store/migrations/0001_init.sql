-- The first schema: the registry's runtime state, events, the webhook inbox (which also holds
-- dead letters), polling cursors and account metadata. Secrets are never stored here.

CREATE TABLE integrations (
    name              TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    enabled           INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    -- active | error | reauthRequired; `disabled` is shown when enabled = 0
    status            TEXT NOT NULL DEFAULT 'active',
    last_sync_time    TEXT,
    next_sync_time    TEXT,
    last_success_time TEXT,
    error_count       INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT
) STRICT;

CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,  -- local arrival order
    event_id      TEXT NOT NULL UNIQUE,
    event_type    TEXT NOT NULL,
    integration   TEXT NOT NULL,
    source_system TEXT NOT NULL,
    external_id   TEXT,
    dedupe_key    TEXT NOT NULL,
    occurred_at   TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    subject       TEXT,
    data          TEXT NOT NULL,                      -- JSON object
    derived_from  TEXT REFERENCES events (event_id),
    UNIQUE (integration, dedupe_key)
) STRICT;
CREATE INDEX events_by_type ON events (event_type, seq);
CREATE INDEX events_by_received ON events (received_at);

-- Webhook deliveries, stored before the 202. state: pending | done | dead (a dead letter).
CREATE TABLE deliveries (
    delivery_id          TEXT PRIMARY KEY,
    integration          TEXT NOT NULL,
    provider_delivery_id TEXT NOT NULL,
    received_at          TEXT NOT NULL,
    content_type         TEXT NOT NULL,
    headers              TEXT NOT NULL,               -- JSON object; no signature headers
    body                 BLOB NOT NULL,
    state                TEXT NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'done', 'dead')),
    attempts             INTEGER NOT NULL DEFAULT 0,
    next_attempt_at      TEXT NOT NULL,
    last_error           TEXT,
    UNIQUE (integration, provider_delivery_id)
) STRICT;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);

CREATE TABLE cursors (
    integration TEXT PRIMARY KEY,
    cursor      TEXT NOT NULL,                        -- JSON, connector-specific
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE accounts (
    name             TEXT PRIMARY KEY,
    provider         TEXT NOT NULL,
    email            TEXT,
    scopes           TEXT NOT NULL DEFAULT '',        -- space-separated, as granted
    token_expires_at TEXT,
    -- active | reauthRequired
    status           TEXT NOT NULL DEFAULT 'active',
    secret_location  TEXT,                            -- where the refresh token is kept, never the token
    updated_at       TEXT NOT NULL
) STRICT;
