-- Attempts in a row at a sink's next event that got no answer about it (the receiver down, or
-- a gateway's 502, 503 or 504): they pace the retries, but an outage never uses up the
-- event's `max_attempts`, which only answered failures count.

ALTER TABLE sinks ADD COLUMN unanswered INTEGER NOT NULL DEFAULT 0;
