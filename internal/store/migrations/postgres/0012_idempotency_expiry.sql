-- ClientRequestToken uses older than the 24 hours they replay for are
-- deleted by the reaper (DeleteIdempotentBefore), found by this index: the
-- table grew by one row a token for ever.
CREATE INDEX idempotency_created ON idempotency (created_ms);
