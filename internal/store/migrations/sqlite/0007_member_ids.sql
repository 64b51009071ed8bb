-- Memberships are keyed by the integer keys of their channel and member
-- (channels.seq, identities.seq) instead of their ARNs (issue 7): an index
-- entry shrinks from some 250 bytes to a few, so an insert dirties a few pages
-- of each index where it dirtied dozens, and a group commit writes that many
-- fewer pages to the WAL. The row keeps no ARN of its channel or member either
-- (reads join the channel and identity rows by key), so twice as many rows fit
-- a page. A membership whose channel or member is gone is unreachable; it is
-- dropped.
CREATE TABLE memberships_new (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_id       INTEGER NOT NULL, -- channels.seq
  member_id        INTEGER NOT NULL, -- identities.seq
  sub_channel_id   TEXT NOT NULL DEFAULT '',
  type             TEXT NOT NULL,
  invited_by       TEXT NOT NULL,
  created_ms       INTEGER NOT NULL,
  updated_ms       INTEGER NOT NULL,
  read_marker_ms   INTEGER,
  preferences_ms   INTEGER,
  push_allow       TEXT,
  push_filter_rule TEXT,
  UNIQUE (channel_id, member_id, sub_channel_id)
);
INSERT INTO memberships_new (seq, channel_id, member_id, sub_channel_id, type, invited_by,
    created_ms, updated_ms, read_marker_ms, preferences_ms, push_allow, push_filter_rule)
  SELECT m.seq, c.seq, i.seq, m.sub_channel_id, m.type, m.invited_by,
    m.created_ms, m.updated_ms, m.read_marker_ms, m.preferences_ms, m.push_allow, m.push_filter_rule
  FROM memberships m JOIN channels c ON c.arn = m.channel_arn JOIN identities i ON i.arn = m.member_arn
  ORDER BY m.seq;
DROP TABLE memberships;
ALTER TABLE memberships_new RENAME TO memberships;
CREATE INDEX memberships_list ON memberships (channel_id, sub_channel_id, type, seq);
CREATE INDEX memberships_by_member ON memberships (member_id, seq);
