-- The membership core: identity, channels, memberships, moderators, bans.
-- seq columns give the stable creation order every list pages on (rule D7).
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE app_instances (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  arn        TEXT NOT NULL UNIQUE,
  owner      TEXT NOT NULL, -- "<region>:<account>"
  name       TEXT NOT NULL,
  metadata   TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE INDEX app_instances_owner ON app_instances (owner, seq);

-- Users and bots: both can be bearers, members and moderators.
CREATE TABLE identities (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  arn              TEXT NOT NULL UNIQUE,
  app_instance_arn TEXT NOT NULL,
  kind             TEXT NOT NULL, -- user | bot
  name             TEXT NOT NULL,
  metadata         TEXT NOT NULL,
  configuration    TEXT,
  expiration       TEXT,
  created_ms       INTEGER NOT NULL,
  updated_ms       INTEGER NOT NULL
);
CREATE INDEX identities_list ON identities (app_instance_arn, kind, seq);

CREATE TABLE admins (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  app_instance_arn TEXT NOT NULL,
  admin_arn        TEXT NOT NULL,
  created_ms       INTEGER NOT NULL,
  UNIQUE (app_instance_arn, admin_arn)
);
CREATE INDEX admins_list ON admins (app_instance_arn, seq);
CREATE INDEX admins_by_admin ON admins (admin_arn);

CREATE TABLE channels (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  arn              TEXT NOT NULL UNIQUE,
  app_instance_arn TEXT NOT NULL,
  name             TEXT NOT NULL,
  mode             TEXT NOT NULL,
  privacy          TEXT NOT NULL,
  metadata         TEXT NOT NULL,
  created_by       TEXT NOT NULL,
  expiration       TEXT,
  created_ms       INTEGER NOT NULL,
  updated_ms       INTEGER NOT NULL,
  last_message_ms  INTEGER
);
CREATE INDEX channels_list ON channels (app_instance_arn, privacy, seq);

CREATE TABLE memberships (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_arn    TEXT NOT NULL,
  member_arn     TEXT NOT NULL,
  type           TEXT NOT NULL,
  invited_by     TEXT NOT NULL,
  created_ms     INTEGER NOT NULL,
  updated_ms     INTEGER NOT NULL,
  read_marker_ms INTEGER,
  UNIQUE (channel_arn, member_arn)
);
CREATE INDEX memberships_list ON memberships (channel_arn, type, seq);
CREATE INDEX memberships_by_member ON memberships (member_arn, seq);

CREATE TABLE moderators (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_arn   TEXT NOT NULL,
  moderator_arn TEXT NOT NULL,
  created_by    TEXT NOT NULL,
  created_ms    INTEGER NOT NULL,
  UNIQUE (channel_arn, moderator_arn)
);
CREATE INDEX moderators_list ON moderators (channel_arn, seq);
CREATE INDEX moderators_by_moderator ON moderators (moderator_arn, seq);

CREATE TABLE bans (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_arn TEXT NOT NULL,
  member_arn  TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  created_ms  INTEGER NOT NULL,
  UNIQUE (channel_arn, member_arn)
);
CREATE INDEX bans_list ON bans (channel_arn, seq);
CREATE INDEX bans_by_member ON bans (member_arn);

-- ClientRequestToken replays (rule D12).
CREATE TABLE idempotency (
  scope       TEXT NOT NULL,
  token       TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  result      TEXT NOT NULL,
  created_ms  INTEGER NOT NULL,
  PRIMARY KEY (scope, token)
);

CREATE TABLE tags (
  resource_arn TEXT NOT NULL,
  key          TEXT NOT NULL,
  value        TEXT NOT NULL,
  PRIMARY KEY (resource_arn, key)
);
