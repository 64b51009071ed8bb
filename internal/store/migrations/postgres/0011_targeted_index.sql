-- A user's targeted messages in a channel, sent or received, found by index:
-- when the latest is deleted, the one before it is the user's last targeted
-- message time again (lastmessage.go). Partial: untargeted messages, the
-- most, are not indexed.
CREATE INDEX messages_targeted_to ON messages (channel_arn, target_arn, created_ms) WHERE target_arn <> '';
CREATE INDEX messages_targeted_from ON messages (channel_arn, sender_arn, created_ms) WHERE target_arn <> '';
