-- What a caller sees as a channel's LastMessageTimestamp in a ChannelSummary
-- (SEMANTICS.md §4, §6): only the persistent messages it can see. Each part is
-- kept as messages are sent, so a list page reads a few rows per channel,
-- however many messages the channel holds.
-- A subchannel's last untargeted persistent message: what its regular
-- members see of the channel's (channels.last_message_ms stays the last one
-- of any subchannel, DescribeChannel's).
ALTER TABLE sub_channels ADD COLUMN last_message_ms BIGINT;
-- The last persistent message of any kind, targeted ones included: the
-- channel's activity for LAST_MESSAGE_TIMESTAMP expiration.
ALTER TABLE channels ADD COLUMN last_activity_ms BIGINT;
-- The last persistent targeted message each user sent or was the target of,
-- by channel: those only its sender and target see.
CREATE TABLE last_targeted (
  channel_id BIGINT NOT NULL, -- channels.seq
  member_id  BIGINT NOT NULL, -- identities.seq
  last_ms    BIGINT NOT NULL,
  PRIMARY KEY (channel_id, member_id)
);
CREATE INDEX last_targeted_by_member ON last_targeted (member_id);

-- The same, from the messages already stored.
UPDATE sub_channels SET last_message_ms = (SELECT MAX(m.created_ms) FROM messages m
  WHERE m.channel_arn = sub_channels.channel_arn AND m.sub_channel_id = sub_channels.sub_channel_id AND m.target_arn = '');
UPDATE channels SET last_activity_ms = (SELECT MAX(m.created_ms) FROM messages m WHERE m.channel_arn = channels.arn);
UPDATE channels SET last_activity_ms = last_message_ms
  WHERE last_message_ms IS NOT NULL AND (last_activity_ms IS NULL OR last_activity_ms < last_message_ms);
INSERT INTO last_targeted (channel_id, member_id, last_ms)
  SELECT c.seq, i.seq, MAX(x.created_ms) FROM (
      SELECT channel_arn, sender_arn AS who, created_ms FROM messages WHERE target_arn <> ''
      UNION ALL
      SELECT channel_arn, target_arn AS who, created_ms FROM messages WHERE target_arn <> ''
    ) x JOIN channels c ON c.arn = x.channel_arn JOIN identities i ON i.arn = x.who
  GROUP BY c.seq, i.seq;
