-- Many teams in one deployment (expand). Every team-owned row carries team_id (teams.id) and
-- every key and unique index gains it; what this database held belongs to the team `default`
-- (id 1), whose credentials stay in the deployment's configuration (credentials NULL), so a
-- single-team deployment changes nothing and nothing is synced again. The previous release
-- keeps working beside this one: team_id defaults to 1 (its rows are the default team's) and
-- the keys without team_id stay until the contract step 0016 (`salesloft migrate
-- --contract`), which makes the new keys primary. Until it has run, a second team cannot be
-- added (Store::add_team says so). The budget and spend rows stay keyed by their budget key:
-- two connections to one SalesLoft team share its budget.
ALTER TABLE teams ALTER COLUMN credentials_key_id DROP NOT NULL,
    ALTER COLUMN credentials_nonce DROP NOT NULL,
    ALTER COLUMN credentials DROP NOT NULL;
INSERT INTO teams (id, slug, base_url, state, settings, created_at_ms, updated_at_ms)
    VALUES (1, 'default', '', 'active', '{}', 0, 0) ON CONFLICT DO NOTHING;
SELECT setval(pg_get_serial_sequence('teams', 'id'), GREATEST((SELECT max(id) FROM teams), 1));

ALTER TABLE people ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX people_team_key ON people (team_id, id);
ALTER TABLE accounts ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX accounts_team_key ON accounts (team_id, id);
ALTER TABLE users ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX users_team_key ON users (team_id, id);
ALTER TABLE cadences ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX cadences_team_key ON cadences (team_id, id);
ALTER TABLE steps ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX steps_team_key ON steps (team_id, id);
ALTER TABLE cadence_memberships ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX cadence_memberships_team_key ON cadence_memberships (team_id, id);
ALTER TABLE notes ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX notes_team_key ON notes (team_id, id);
ALTER TABLE activities ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX activities_team_key ON activities (team_id, kind, id);
ALTER TABLE daily_engagement ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX daily_engagement_team_key ON daily_engagement (team_id, day, user_id, cadence_id);
ALTER TABLE sync_state ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX sync_state_team_key ON sync_state (team_id, stream);
ALTER TABLE quarantine ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX quarantine_team_key ON quarantine (team_id, stream, digest);
ALTER TABLE leases ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX leases_team_key ON leases (team_id, name);
ALTER TABLE webhook_subscriptions ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX webhook_subscriptions_team_key ON webhook_subscriptions (team_id, id);
ALTER TABLE change_counters ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX change_counters_team_key ON change_counters (team_id, stream);
ALTER TABLE own_writes ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX own_writes_team_key ON own_writes (team_id, stream, id);
ALTER TABLE parked_writes ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX parked_writes_team_key ON parked_writes (team_id, stream, record_key);
ALTER TABLE oauth_tokens ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX oauth_tokens_team_key ON oauth_tokens (team_id, token_key);
ALTER TABLE credential_holds ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX credential_holds_team_key ON credential_holds (team_id, credential);
ALTER TABLE webhook_events ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX webhook_events_team_key ON webhook_events (team_id, source, dedupe_key);
ALTER TABLE jobs ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
ALTER TABLE engagement_state ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX engagement_state_team_key ON engagement_state (team_id);
ALTER TABLE engagement_state ALTER COLUMN id SET DEFAULT 1;
CREATE UNIQUE INDEX jobs_unique_active_by_team ON jobs (team_id, unique_key)
  WHERE unique_key IS NOT NULL AND state IN ('available', 'running');
CREATE INDEX jobs_running_by_team ON jobs (team_id) WHERE state = 'running';
DROP INDEX people_email;
CREATE INDEX people_email ON people (team_id, lower(email));
DROP INDEX people_updated;
CREATE INDEX people_updated ON people (team_id, sl_updated_at_us);
DROP INDEX people_changes;
CREATE INDEX people_changes ON people (team_id, change_seq, id);
DROP INDEX people_crm_id;
CREATE INDEX people_crm_id ON people (team_id, crm_id) WHERE crm_id IS NOT NULL;
DROP INDEX accounts_domain;
CREATE INDEX accounts_domain ON accounts (team_id, lower(domain));
DROP INDEX steps_cadence;
CREATE INDEX steps_cadence ON steps (team_id, cadence_id);
DROP INDEX cm_person;
CREATE INDEX cm_person ON cadence_memberships (team_id, person_id);
DROP INDEX cm_cadence;
CREATE INDEX cm_cadence ON cadence_memberships (team_id, cadence_id, current_state);
DROP INDEX notes_associated;
CREATE INDEX notes_associated ON notes (team_id, associated_type, associated_id);
DROP INDEX webhook_subscriptions_url;
CREATE INDEX webhook_subscriptions_url ON webhook_subscriptions (team_id, callback_url);
DROP INDEX activities_occurred;
CREATE INDEX activities_occurred ON activities (team_id, occurred_at_us);
DROP INDEX activities_synced;
CREATE INDEX activities_synced ON activities (team_id, synced_at_ms);
DROP INDEX activities_deleted;
CREATE INDEX activities_deleted ON activities (team_id, deleted_at_ms) WHERE deleted_at_ms IS NOT NULL;
DROP INDEX webhook_events_pending;
CREATE INDEX webhook_events_pending ON webhook_events (team_id, received_at_ms) WHERE status = 'pending';
DROP INDEX webhook_events_received;
CREATE INDEX webhook_events_received ON webhook_events (team_id, received_at_ms);
DROP INDEX jobs_fetch;
CREATE INDEX jobs_fetch ON jobs (team_id, queue, priority, run_at_ms, id) WHERE state = 'available';
