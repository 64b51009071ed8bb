-- A channel's membership count, kept with every insert and delete, so that
-- the per-channel quota check costs the same at 10,000 members as at 1.
ALTER TABLE channels ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
UPDATE channels SET member_count = (SELECT COUNT(*) FROM memberships m WHERE m.channel_arn = channels.arn);
