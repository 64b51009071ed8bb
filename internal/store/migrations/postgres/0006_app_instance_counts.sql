-- An app instance's channels (of which elastic), users and bots, counted on
-- its row and kept by every insert and delete of those rows in the same
-- transaction, so that the per-app-instance quota checks read one row
-- however many channels, users and bots the app instance has.
ALTER TABLE app_instances ADD COLUMN channel_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE app_instances ADD COLUMN elastic_channel_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE app_instances ADD COLUMN user_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE app_instances ADD COLUMN bot_count BIGINT NOT NULL DEFAULT 0;
UPDATE app_instances SET
  channel_count = (SELECT COUNT(*) FROM channels c WHERE c.app_instance_arn = app_instances.arn),
  elastic_channel_count = (SELECT COUNT(*) FROM channels c WHERE c.app_instance_arn = app_instances.arn AND c.max_sub_channels IS NOT NULL),
  user_count = (SELECT COUNT(*) FROM identities i WHERE i.app_instance_arn = app_instances.arn AND i.kind = 'user'),
  bot_count = (SELECT COUNT(*) FROM identities i WHERE i.app_instance_arn = app_instances.arn AND i.kind = 'bot');
