-- What PostgreSQL races fixed in this release could leave behind on several
-- nodes (docs/scale-out.md): memberships, moderator roles and last-message
-- times of users or channels deleted meanwhile, messages, subchannels and
-- tags of deleted channels; and the member counts that followed them. Rows
-- and counts that are right are left alone.
DELETE FROM memberships
  WHERE NOT EXISTS (SELECT 1 FROM identities i WHERE i.seq = memberships.member_id)
     OR NOT EXISTS (SELECT 1 FROM channels c WHERE c.seq = memberships.channel_id);
-- A role or message older than its user or channel (by more than a second of
-- clock skew between nodes) was a deleted one's, left to the one created again
-- under the same ARN.
DELETE FROM moderators
  WHERE NOT EXISTS (SELECT 1 FROM identities i WHERE i.arn = moderators.moderator_arn AND i.created_ms <= moderators.created_ms + 1000)
     OR NOT EXISTS (SELECT 1 FROM channels c WHERE c.arn = moderators.channel_arn AND c.created_ms <= moderators.created_ms + 1000);
DELETE FROM last_targeted
  WHERE NOT EXISTS (SELECT 1 FROM identities i WHERE i.seq = last_targeted.member_id)
     OR NOT EXISTS (SELECT 1 FROM channels c WHERE c.seq = last_targeted.channel_id);
DELETE FROM messages WHERE NOT EXISTS (SELECT 1 FROM channels c WHERE c.arn = messages.channel_arn AND c.created_ms <= messages.created_ms + 1000);
DELETE FROM sub_channels WHERE NOT EXISTS (SELECT 1 FROM channels c WHERE c.arn = sub_channels.channel_arn AND c.created_ms <= sub_channels.created_ms + 1000);
DELETE FROM tags
  WHERE NOT EXISTS (SELECT 1 FROM app_instances a WHERE a.arn = tags.resource_arn)
    AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.arn = tags.resource_arn)
    AND NOT EXISTS (SELECT 1 FROM channels c WHERE c.arn = tags.resource_arn);
UPDATE channels SET member_count = (SELECT COUNT(*) FROM memberships m WHERE m.channel_id = channels.seq)
  WHERE member_count <> (SELECT COUNT(*) FROM memberships m WHERE m.channel_id = channels.seq);
-- A subchannel counts its regular members, not the channel's moderators.
UPDATE sub_channels SET member_count = (SELECT COUNT(*) FROM memberships m JOIN channels c ON c.seq = m.channel_id
    JOIN identities i ON i.seq = m.member_id
    WHERE c.arn = sub_channels.channel_arn AND m.sub_channel_id = sub_channels.sub_channel_id
      AND NOT EXISTS (SELECT 1 FROM moderators d WHERE d.channel_arn = c.arn AND d.moderator_arn = i.arn))
  WHERE member_count <> (SELECT COUNT(*) FROM memberships m JOIN channels c ON c.seq = m.channel_id
    JOIN identities i ON i.seq = m.member_id
    WHERE c.arn = sub_channels.channel_arn AND m.sub_channel_id = sub_channels.sub_channel_id
      AND NOT EXISTS (SELECT 1 FROM moderators d WHERE d.channel_arn = c.arn AND d.moderator_arn = i.arn));
