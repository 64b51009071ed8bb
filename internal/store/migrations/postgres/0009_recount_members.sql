-- Channels' member counts counted again from their memberships. Before this
-- release the SQLite writer could write a deleted channel's pending count
-- changes to a channel created again under the same ARN in the same commit
-- group, leaving it counting members it never had (its quota then refused
-- adds early or let too many in). Counts that are right are left alone.
UPDATE channels SET member_count = (SELECT COUNT(*) FROM memberships m WHERE m.channel_id = channels.seq)
  WHERE member_count <> (SELECT COUNT(*) FROM memberships m WHERE m.channel_id = channels.seq);
