-- Of an action's attempts at its next event, those that got no answer about it (the far end
-- down or unreachable, a gateway's 502, 503 or 504, the account awaiting re-authorization):
-- they pace the retries, but only answered failures count towards `max_attempts`.

ALTER TABLE actions ADD COLUMN unanswered INTEGER NOT NULL DEFAULT 0;
