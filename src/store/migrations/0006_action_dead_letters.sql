-- Events an action gave up on after max_attempts; the action moved on past them. Kept so that
-- `trmctl status` can say so (the action's last_error is cleared by its next success).

CREATE TABLE action_dead_letters (
    action     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    event_id   TEXT NOT NULL REFERENCES events (event_id),
    attempts   INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    failed_at  TEXT NOT NULL,
    PRIMARY KEY (action, seq)
) STRICT;
