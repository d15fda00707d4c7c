-- Of an action's unanswered attempts at its next event, those since its last answered
-- failure, leaving out the ones made while its account awaited re-authorization. Only these
-- run up to the limit of attempts without an answer: a long wait for the user, or a few
-- timeouts between answered failures, is no outage of the far end.

ALTER TABLE actions ADD COLUMN unanswered_in_a_row INTEGER NOT NULL DEFAULT 0;
