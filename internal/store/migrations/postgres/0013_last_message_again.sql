-- A channel's last message times are computed again from the messages that
-- remain (lastmessage.go): before LastMessageTimestamp moved back on delete
-- (4138d82, 0272e7c), deleting a channel's, a subchannel's or a user's last
-- targeted message left its time in place, and a channel read up to date
-- showed unread until the next message. last_activity_ms stays: the channel
-- was active then.
UPDATE channels SET last_message_ms = (SELECT MAX(m.created_ms) FROM messages m
  WHERE m.channel_arn = channels.arn AND m.target_arn = '');
UPDATE sub_channels SET last_message_ms = (SELECT MAX(m.created_ms) FROM messages m
  WHERE m.channel_arn = sub_channels.channel_arn AND m.sub_channel_id = sub_channels.sub_channel_id AND m.target_arn = '');
DELETE FROM last_targeted;
INSERT INTO last_targeted (channel_id, member_id, last_ms)
  SELECT c.seq, i.seq, MAX(x.created_ms) FROM (
      SELECT channel_arn, sender_arn AS who, created_ms FROM messages WHERE target_arn <> ''
      UNION ALL
      SELECT channel_arn, target_arn AS who, created_ms FROM messages WHERE target_arn <> ''
    ) x JOIN channels c ON c.arn = x.channel_arn JOIN identities i ON i.arn = x.who
  GROUP BY c.seq, i.seq;
