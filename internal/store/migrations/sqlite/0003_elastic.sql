-- Elastic channels (issue 8): subchannels, and SubChannelId on memberships and messages.
ALTER TABLE channels ADD COLUMN max_sub_channels INTEGER;
ALTER TABLE channels ADD COLUMN target_per_sub_channel INTEGER;
ALTER TABLE channels ADD COLUMN min_membership_pct INTEGER;

CREATE TABLE sub_channels (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_arn    TEXT NOT NULL,
  sub_channel_id TEXT NOT NULL,
  member_count   INTEGER NOT NULL, -- regular members; moderators are not counted
  created_ms     INTEGER NOT NULL,
  UNIQUE (channel_arn, sub_channel_id)
);
CREATE INDEX sub_channels_list ON sub_channels (channel_arn, seq);
-- Assignment finds the fullest subchannel below the target in one index probe.
CREATE INDEX sub_channels_fill ON sub_channels (channel_arn, member_count, seq);

-- A moderator of an elastic channel holds one membership per subchannel it
-- joined; everyone else one membership per channel ('' outside elastic channels).
CREATE TABLE memberships_new (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_arn    TEXT NOT NULL,
  member_arn     TEXT NOT NULL,
  sub_channel_id TEXT NOT NULL DEFAULT '',
  type           TEXT NOT NULL,
  invited_by     TEXT NOT NULL,
  created_ms     INTEGER NOT NULL,
  updated_ms     INTEGER NOT NULL,
  read_marker_ms INTEGER,
  UNIQUE (channel_arn, member_arn, sub_channel_id)
);
INSERT INTO memberships_new (seq, channel_arn, member_arn, sub_channel_id, type, invited_by, created_ms, updated_ms, read_marker_ms)
  SELECT seq, channel_arn, member_arn, '', type, invited_by, created_ms, updated_ms, read_marker_ms FROM memberships;
DROP TABLE memberships;
ALTER TABLE memberships_new RENAME TO memberships;
CREATE INDEX memberships_list ON memberships (channel_arn, sub_channel_id, type, seq);
CREATE INDEX memberships_by_member ON memberships (member_arn, seq);

ALTER TABLE messages ADD COLUMN sub_channel_id TEXT NOT NULL DEFAULT '';
DROP INDEX messages_history;
CREATE INDEX messages_history ON messages (channel_arn, sub_channel_id, created_ms, seq);
