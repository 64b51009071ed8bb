-- Memberships are keyed by the integer keys of their channel and member
-- (channels.seq, identities.seq) instead of their ARNs (issue 7): smaller
-- index entries, so an insert dirties fewer index pages. The row keeps no ARN
-- of its channel or member either (reads join the channel and identity rows by
-- key). A membership whose channel or member is gone is unreachable; it is
-- dropped.
DELETE FROM memberships m
  WHERE NOT EXISTS (SELECT 1 FROM channels c WHERE c.arn = m.channel_arn)
     OR NOT EXISTS (SELECT 1 FROM identities i WHERE i.arn = m.member_arn);
ALTER TABLE memberships ADD COLUMN channel_id BIGINT, ADD COLUMN member_id BIGINT;
UPDATE memberships m SET channel_id = c.seq FROM channels c WHERE c.arn = m.channel_arn;
UPDATE memberships m SET member_id = i.seq FROM identities i WHERE i.arn = m.member_arn;
ALTER TABLE memberships ALTER COLUMN channel_id SET NOT NULL, ALTER COLUMN member_id SET NOT NULL;
ALTER TABLE memberships DROP CONSTRAINT memberships_channel_member_sub_key;
ALTER TABLE memberships ADD CONSTRAINT memberships_channel_member_sub_key UNIQUE (channel_id, member_id, sub_channel_id);
DROP INDEX memberships_list;
CREATE INDEX memberships_list ON memberships (channel_id, sub_channel_id, type, seq);
DROP INDEX memberships_by_member;
CREATE INDEX memberships_by_member ON memberships (member_id, seq);
ALTER TABLE memberships DROP COLUMN channel_arn, DROP COLUMN member_arn;
