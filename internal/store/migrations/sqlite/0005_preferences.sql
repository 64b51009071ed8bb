-- Channel membership preferences (issue 8 follow-ups), kept on the membership
-- row like the read marker, so they go wherever the membership goes.
-- preferences_ms is when the member last put them, NULL when it never did;
-- push_allow is NULL when the preferences hold no PushNotifications.
ALTER TABLE memberships ADD COLUMN preferences_ms INTEGER;
ALTER TABLE memberships ADD COLUMN push_allow TEXT;
ALTER TABLE memberships ADD COLUMN push_filter_rule TEXT;
