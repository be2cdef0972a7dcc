-- Contract step of 0015: the keys with team_id become the primary keys and the keys without
-- it go, so two teams may hold records of the same id. Run once every process runs a release
-- that writes team_id (`salesloft migrate --contract`); until then a second team cannot be
-- added.
ALTER TABLE people DROP CONSTRAINT people_pkey, ADD CONSTRAINT people_pkey PRIMARY KEY USING INDEX people_team_key;
ALTER TABLE accounts DROP CONSTRAINT accounts_pkey, ADD CONSTRAINT accounts_pkey PRIMARY KEY USING INDEX accounts_team_key;
ALTER TABLE users DROP CONSTRAINT users_pkey, ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_team_key;
ALTER TABLE cadences DROP CONSTRAINT cadences_pkey, ADD CONSTRAINT cadences_pkey PRIMARY KEY USING INDEX cadences_team_key;
ALTER TABLE steps DROP CONSTRAINT steps_pkey, ADD CONSTRAINT steps_pkey PRIMARY KEY USING INDEX steps_team_key;
ALTER TABLE cadence_memberships DROP CONSTRAINT cadence_memberships_pkey, ADD CONSTRAINT cadence_memberships_pkey PRIMARY KEY USING INDEX cadence_memberships_team_key;
ALTER TABLE notes DROP CONSTRAINT notes_pkey, ADD CONSTRAINT notes_pkey PRIMARY KEY USING INDEX notes_team_key;
ALTER TABLE activities DROP CONSTRAINT activities_pkey, ADD CONSTRAINT activities_pkey PRIMARY KEY USING INDEX activities_team_key;
ALTER TABLE daily_engagement DROP CONSTRAINT daily_engagement_pkey, ADD CONSTRAINT daily_engagement_pkey PRIMARY KEY USING INDEX daily_engagement_team_key;
ALTER TABLE sync_state DROP CONSTRAINT sync_state_pkey, ADD CONSTRAINT sync_state_pkey PRIMARY KEY USING INDEX sync_state_team_key;
ALTER TABLE quarantine DROP CONSTRAINT quarantine_pkey, ADD CONSTRAINT quarantine_pkey PRIMARY KEY USING INDEX quarantine_team_key;
ALTER TABLE leases DROP CONSTRAINT leases_pkey, ADD CONSTRAINT leases_pkey PRIMARY KEY USING INDEX leases_team_key;
ALTER TABLE webhook_subscriptions DROP CONSTRAINT webhook_subscriptions_pkey, ADD CONSTRAINT webhook_subscriptions_pkey PRIMARY KEY USING INDEX webhook_subscriptions_team_key;
ALTER TABLE change_counters DROP CONSTRAINT change_counters_pkey, ADD CONSTRAINT change_counters_pkey PRIMARY KEY USING INDEX change_counters_team_key;
ALTER TABLE own_writes DROP CONSTRAINT own_writes_pkey, ADD CONSTRAINT own_writes_pkey PRIMARY KEY USING INDEX own_writes_team_key;
ALTER TABLE parked_writes DROP CONSTRAINT parked_writes_pkey, ADD CONSTRAINT parked_writes_pkey PRIMARY KEY USING INDEX parked_writes_team_key;
ALTER TABLE oauth_tokens DROP CONSTRAINT oauth_tokens_pkey, ADD CONSTRAINT oauth_tokens_pkey PRIMARY KEY USING INDEX oauth_tokens_team_key;
ALTER TABLE credential_holds DROP CONSTRAINT credential_holds_pkey, ADD CONSTRAINT credential_holds_pkey PRIMARY KEY USING INDEX credential_holds_team_key;
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_source_dedupe_key_key;
DROP INDEX jobs_unique_active;
ALTER TABLE engagement_state DROP CONSTRAINT engagement_state_pkey, ADD CONSTRAINT engagement_state_pkey PRIMARY KEY USING INDEX engagement_state_team_key;
ALTER TABLE engagement_state DROP COLUMN id;
ALTER TABLE people ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE accounts ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE users ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE cadences ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE steps ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE cadence_memberships ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE notes ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE activities ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE daily_engagement ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE sync_state ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE quarantine ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE leases ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE webhook_subscriptions ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE change_counters ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE own_writes ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE parked_writes ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE oauth_tokens ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE credential_holds ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE webhook_events ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE jobs ALTER COLUMN team_id DROP DEFAULT;
ALTER TABLE engagement_state ALTER COLUMN team_id DROP DEFAULT;
