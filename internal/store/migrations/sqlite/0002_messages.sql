-- Messages, retention and expiration (issue 3).
CREATE TABLE messages (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_arn  TEXT NOT NULL,
  message_id   TEXT NOT NULL,
  sender_arn   TEXT NOT NULL,
  type         TEXT NOT NULL,
  content      TEXT NOT NULL,
  metadata     TEXT NOT NULL,
  content_type TEXT NOT NULL,
  attributes   TEXT,
  push         TEXT,
  target_arn   TEXT NOT NULL, -- '' when the message is for the whole channel
  redacted     INTEGER NOT NULL,
  created_ms   INTEGER NOT NULL,
  updated_ms   INTEGER NOT NULL,
  edited_ms    INTEGER,
  UNIQUE (channel_arn, message_id)
);
-- History pages walk this index from a (created, seq) cursor in either direction.
CREATE INDEX messages_history ON messages (channel_arn, created_ms, seq);

ALTER TABLE app_instances ADD COLUMN retention_days INTEGER;
ALTER TABLE app_instances ADD COLUMN retention_set_ms INTEGER;
CREATE INDEX channels_expiring ON channels (seq) WHERE expiration IS NOT NULL;
CREATE INDEX identities_expiring ON identities (seq) WHERE expiration IS NOT NULL;
