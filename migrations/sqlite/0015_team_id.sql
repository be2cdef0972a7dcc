-- Many teams in one deployment. Every team-owned row carries team_id (teams.id) and every key
-- and unique index starts with it; what this database held before belongs to the team
-- `default` (id 1), whose credentials stay in the deployment's configuration (credentials
-- NULL), so a single-team deployment changes nothing and nothing is synced again. SQLite
-- cannot change a table's key in place, so each table is rewritten once (a SQLite file is
-- served by one release at a time). The budget and spend rows stay keyed by their budget key:
-- two connections to one SalesLoft team share its budget, whatever team row they belong to.

-- teams: credentials may be NULL (the deployment's configured ones: the default team).
CREATE TABLE teams_nullable (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    base_url TEXT NOT NULL,
    salesloft_team_id INTEGER,
    name TEXT,
    state TEXT NOT NULL DEFAULT 'active',
    settings TEXT NOT NULL DEFAULT '{}',
    credentials_key_id TEXT,
    credentials_nonce BLOB,
    credentials BLOB,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
INSERT INTO teams_nullable SELECT * FROM teams;
DROP TABLE teams;
ALTER TABLE teams_nullable RENAME TO teams;
CREATE UNIQUE INDEX teams_salesloft_team ON teams (base_url, salesloft_team_id);
INSERT INTO teams (id, slug, base_url, state, settings, created_at_ms, updated_at_ms)
    VALUES (1, 'default', '', 'active', '{}', 0, 0) ON CONFLICT DO NOTHING;

-- people: keyed by (team_id, id)
CREATE TABLE people_by_team (
  team_id BIGINT NOT NULL,
  id BIGINT NOT NULL,
  email TEXT, first_name TEXT, last_name TEXT, title TEXT,
  account_id BIGINT, owner_user_id BIGINT, do_not_contact SMALLINT NOT NULL DEFAULT 0,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL
, drifted TEXT, change_seq BIGINT NOT NULL DEFAULT 0, first_seq BIGINT NOT NULL DEFAULT 0, crm_id TEXT,
  PRIMARY KEY (team_id, id)
);
INSERT INTO people_by_team (team_id, id, email, first_name, last_name, title, account_id, owner_user_id, do_not_contact, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, change_seq, first_seq, crm_id) SELECT 1, id, email, first_name, last_name, title, account_id, owner_user_id, do_not_contact, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, change_seq, first_seq, crm_id FROM people;
DROP TABLE people;
ALTER TABLE people_by_team RENAME TO people;
CREATE INDEX people_email ON people (team_id, lower(email));
CREATE INDEX people_updated ON people (team_id, sl_updated_at_us);
CREATE INDEX people_changes ON people (team_id, change_seq, id);
CREATE INDEX people_crm_id ON people (team_id, crm_id) WHERE crm_id IS NOT NULL;

-- accounts: keyed by (team_id, id)
CREATE TABLE accounts_by_team (
  team_id BIGINT NOT NULL,
  id BIGINT NOT NULL,
  name TEXT, domain TEXT, owner_user_id BIGINT, archived_at_us BIGINT,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL
, drifted TEXT, change_seq BIGINT NOT NULL DEFAULT 0, first_seq BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (team_id, id)
);
INSERT INTO accounts_by_team (team_id, id, name, domain, owner_user_id, archived_at_us, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, change_seq, first_seq) SELECT 1, id, name, domain, owner_user_id, archived_at_us, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, change_seq, first_seq FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_by_team RENAME TO accounts;
CREATE INDEX accounts_domain ON accounts (team_id, lower(domain));

-- users: keyed by (team_id, id)
CREATE TABLE users_by_team (
  team_id BIGINT NOT NULL,
  id BIGINT NOT NULL,
  guid TEXT, email TEXT, name TEXT, active SMALLINT NOT NULL DEFAULT 0, role_id TEXT,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL
, drifted TEXT, change_seq BIGINT NOT NULL DEFAULT 0, first_seq BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (team_id, id)
);
INSERT INTO users_by_team (team_id, id, guid, email, name, active, role_id, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, change_seq, first_seq) SELECT 1, id, guid, email, name, active, role_id, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, change_seq, first_seq FROM users;
DROP TABLE users;
ALTER TABLE users_by_team RENAME TO users;

-- cadences: keyed by (team_id, id)
CREATE TABLE cadences_by_team (
  team_id BIGINT NOT NULL,
  id BIGINT NOT NULL,
  name TEXT, owner_user_id BIGINT, team_cadence SMALLINT NOT NULL DEFAULT 0,
  shared SMALLINT NOT NULL DEFAULT 0, archived_at_us BIGINT,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL
, drifted TEXT, change_seq BIGINT NOT NULL DEFAULT 0, first_seq BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (team_id, id)
);
INSERT INTO cadences_by_team (team_id, id, name, owner_user_id, team_cadence, shared, archived_at_us, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, change_seq, first_seq) SELECT 1, id, name, owner_user_id, team_cadence, shared, archived_at_us, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, change_seq, first_seq FROM cadences;
DROP TABLE cadences;
ALTER TABLE cadences_by_team RENAME TO cadences;

-- steps: keyed by (team_id, id)
CREATE TABLE steps_by_team (
  team_id BIGINT NOT NULL,
  id BIGINT NOT NULL,
  cadence_id BIGINT NOT NULL DEFAULT 0, step_type TEXT, day INTEGER, step_number INTEGER,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL
, drifted TEXT, change_seq BIGINT NOT NULL DEFAULT 0, first_seq BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (team_id, id)
);
INSERT INTO steps_by_team (team_id, id, cadence_id, step_type, day, step_number, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, change_seq, first_seq) SELECT 1, id, cadence_id, step_type, day, step_number, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, change_seq, first_seq FROM steps;
DROP TABLE steps;
ALTER TABLE steps_by_team RENAME TO steps;
CREATE INDEX steps_cadence ON steps (team_id, cadence_id);

-- cadence_memberships: keyed by (team_id, id)
CREATE TABLE cadence_memberships_by_team (
  team_id BIGINT NOT NULL,
  id BIGINT NOT NULL,
  person_id BIGINT NOT NULL DEFAULT 0, cadence_id BIGINT NOT NULL DEFAULT 0, user_id BIGINT NOT NULL DEFAULT 0,
  current_state TEXT, currently_on_cadence SMALLINT NOT NULL DEFAULT 0, added_at_us BIGINT,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL
, drifted TEXT, change_seq BIGINT NOT NULL DEFAULT 0, first_seq BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (team_id, id)
);
INSERT INTO cadence_memberships_by_team (team_id, id, person_id, cadence_id, user_id, current_state, currently_on_cadence, added_at_us, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, change_seq, first_seq) SELECT 1, id, person_id, cadence_id, user_id, current_state, currently_on_cadence, added_at_us, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, change_seq, first_seq FROM cadence_memberships;
DROP TABLE cadence_memberships;
ALTER TABLE cadence_memberships_by_team RENAME TO cadence_memberships;
CREATE INDEX cm_person ON cadence_memberships (team_id, person_id);
CREATE INDEX cm_cadence ON cadence_memberships (team_id, cadence_id, current_state);

-- notes: keyed by (team_id, id)
CREATE TABLE notes_by_team (
  team_id BIGINT NOT NULL,
  id BIGINT NOT NULL,
  associated_type TEXT, associated_id BIGINT, user_id BIGINT, call_id BIGINT, content TEXT,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL
, drifted TEXT, change_seq BIGINT NOT NULL DEFAULT 0, first_seq BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (team_id, id)
);
INSERT INTO notes_by_team (team_id, id, associated_type, associated_id, user_id, call_id, content, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, change_seq, first_seq) SELECT 1, id, associated_type, associated_id, user_id, call_id, content, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, change_seq, first_seq FROM notes;
DROP TABLE notes;
ALTER TABLE notes_by_team RENAME TO notes;
CREATE INDEX notes_associated ON notes (team_id, associated_type, associated_id);

-- activities: keyed by (team_id, kind, id)
CREATE TABLE activities_by_team (
  team_id BIGINT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('email', 'call')),
  id BIGINT NOT NULL,
  user_id BIGINT NOT NULL DEFAULT 0, person_id BIGINT NOT NULL DEFAULT 0,
  cadence_id BIGINT NOT NULL DEFAULT 0, step_id BIGINT NOT NULL DEFAULT 0,
  occurred_at_us BIGINT NOT NULL,
  status TEXT,                             -- e-mail status or call disposition
  opened SMALLINT NOT NULL DEFAULT 0, clicked SMALLINT NOT NULL DEFAULT 0,
  replied SMALLINT NOT NULL DEFAULT 0, bounced SMALLINT NOT NULL DEFAULT 0,
  duration_s BIGINT,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL, drifted TEXT, sent SMALLINT NOT NULL DEFAULT 0, change_seq BIGINT NOT NULL DEFAULT 0, first_seq BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (team_id, kind, id)
);
INSERT INTO activities_by_team (team_id, kind, id, user_id, person_id, cadence_id, step_id, occurred_at_us, status, opened, clicked, replied, bounced, duration_s, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, sent, change_seq, first_seq) SELECT 1, kind, id, user_id, person_id, cadence_id, step_id, occurred_at_us, status, opened, clicked, replied, bounced, duration_s, sl_created_at_us, sl_updated_at_us, deleted_at_ms, raw, synced_at_ms, drifted, sent, change_seq, first_seq FROM activities;
DROP TABLE activities;
ALTER TABLE activities_by_team RENAME TO activities;
CREATE INDEX activities_occurred ON activities (team_id, occurred_at_us);
CREATE INDEX activities_synced ON activities (team_id, synced_at_ms);
CREATE INDEX activities_deleted ON activities (team_id, deleted_at_ms) WHERE deleted_at_ms IS NOT NULL;

-- daily_engagement: keyed by (team_id, day, user_id, cadence_id)
CREATE TABLE daily_engagement_by_team (
  team_id BIGINT NOT NULL,
  day TEXT NOT NULL, user_id BIGINT NOT NULL, cadence_id BIGINT NOT NULL DEFAULT 0,
  emails_sent BIGINT NOT NULL DEFAULT 0, emails_opened BIGINT NOT NULL DEFAULT 0,
  emails_clicked BIGINT NOT NULL DEFAULT 0, emails_replied BIGINT NOT NULL DEFAULT 0,
  emails_bounced BIGINT NOT NULL DEFAULT 0, calls BIGINT NOT NULL DEFAULT 0,
  call_seconds BIGINT NOT NULL DEFAULT 0, computed_at_ms BIGINT NOT NULL, emails_delivered BIGINT NOT NULL DEFAULT 0, calls_connected BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (team_id, day, user_id, cadence_id)
);
INSERT INTO daily_engagement_by_team (team_id, day, user_id, cadence_id, emails_sent, emails_opened, emails_clicked, emails_replied, emails_bounced, calls, call_seconds, computed_at_ms, emails_delivered, calls_connected) SELECT 1, day, user_id, cadence_id, emails_sent, emails_opened, emails_clicked, emails_replied, emails_bounced, calls, call_seconds, computed_at_ms, emails_delivered, calls_connected FROM daily_engagement;
DROP TABLE daily_engagement;
ALTER TABLE daily_engagement_by_team RENAME TO daily_engagement;

-- sync_state: keyed by (team_id, stream)
CREATE TABLE sync_state_by_team (
  team_id BIGINT NOT NULL,
  stream TEXT NOT NULL,
  cursor_us BIGINT,                         -- newest SalesLoft updated_at fully committed
  boundary_ids TEXT NOT NULL DEFAULT '[]',  -- JSON ids already applied at cursor_us
  tie_page INTEGER NOT NULL DEFAULT 1,      -- > 1 only inside a tie group larger than a page
  backfill_done SMALLINT NOT NULL DEFAULT 0,
  records_total BIGINT NOT NULL DEFAULT 0,
  last_started_at_ms BIGINT, last_success_at_ms BIGINT, last_error TEXT,
  version BIGINT NOT NULL DEFAULT 0,        -- optimistic guard
  updated_at_ms BIGINT NOT NULL
, walk_window TEXT, cursor TEXT,
  PRIMARY KEY (team_id, stream)
);
INSERT INTO sync_state_by_team (team_id, stream, cursor_us, boundary_ids, tie_page, backfill_done, records_total, last_started_at_ms, last_success_at_ms, last_error, version, updated_at_ms, walk_window, cursor) SELECT 1, stream, cursor_us, boundary_ids, tie_page, backfill_done, records_total, last_started_at_ms, last_success_at_ms, last_error, version, updated_at_ms, walk_window, cursor FROM sync_state;
DROP TABLE sync_state;
ALTER TABLE sync_state_by_team RENAME TO sync_state;

-- quarantine: keyed by (team_id, stream, digest)
CREATE TABLE quarantine_by_team (
  team_id BIGINT NOT NULL,
  stream TEXT NOT NULL,
  digest TEXT NOT NULL,            -- hex(sha256(raw))
  record_id BIGINT,
  error TEXT NOT NULL,
  raw TEXT NOT NULL,
  first_seen_at_ms BIGINT NOT NULL,
  last_seen_at_ms BIGINT NOT NULL,
  times BIGINT NOT NULL DEFAULT 1,
  PRIMARY KEY (team_id, stream, digest)
);
INSERT INTO quarantine_by_team (team_id, stream, digest, record_id, error, raw, first_seen_at_ms, last_seen_at_ms, times) SELECT 1, stream, digest, record_id, error, raw, first_seen_at_ms, last_seen_at_ms, times FROM quarantine;
DROP TABLE quarantine;
ALTER TABLE quarantine_by_team RENAME TO quarantine;

-- leases: keyed by (team_id, name)
CREATE TABLE leases_by_team (
  team_id BIGINT NOT NULL,
  name TEXT NOT NULL,
  owner TEXT NOT NULL,             -- random per lease taken
  expires_at_ms BIGINT NOT NULL,
  PRIMARY KEY (team_id, name)
);
INSERT INTO leases_by_team (team_id, name, owner, expires_at_ms) SELECT 1, name, owner, expires_at_ms FROM leases;
DROP TABLE leases;
ALTER TABLE leases_by_team RENAME TO leases;

-- webhook_subscriptions: keyed by (team_id, id)
CREATE TABLE webhook_subscriptions_by_team (
  team_id BIGINT NOT NULL,
  id BIGINT NOT NULL,           -- SalesLoft's subscription id
  event_type TEXT NOT NULL,
  callback_url TEXT NOT NULL,
  callback_token TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  PRIMARY KEY (team_id, id)
);
INSERT INTO webhook_subscriptions_by_team (team_id, id, event_type, callback_url, callback_token, created_at_ms) SELECT 1, id, event_type, callback_url, callback_token, created_at_ms FROM webhook_subscriptions;
DROP TABLE webhook_subscriptions;
ALTER TABLE webhook_subscriptions_by_team RENAME TO webhook_subscriptions;
CREATE INDEX webhook_subscriptions_url ON webhook_subscriptions (team_id, callback_url);

-- change_counters: keyed by (team_id, stream)
CREATE TABLE change_counters_by_team (
  team_id BIGINT NOT NULL,
  stream TEXT NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (team_id, stream)
);
INSERT INTO change_counters_by_team (team_id, stream, seq) SELECT 1, stream, seq FROM change_counters;
DROP TABLE change_counters;
ALTER TABLE change_counters_by_team RENAME TO change_counters;

-- own_writes: keyed by (team_id, stream, id)
CREATE TABLE own_writes_by_team (
  team_id BIGINT NOT NULL,
  stream TEXT NOT NULL,
  id BIGINT NOT NULL,
  version_us BIGINT NOT NULL,
  content_hash TEXT NOT NULL,
  written_at_ms BIGINT NOT NULL,
  PRIMARY KEY (team_id, stream, id)
);
INSERT INTO own_writes_by_team (team_id, stream, id, version_us, content_hash, written_at_ms) SELECT 1, stream, id, version_us, content_hash, written_at_ms FROM own_writes;
DROP TABLE own_writes;
ALTER TABLE own_writes_by_team RENAME TO own_writes;

-- parked_writes: keyed by (team_id, stream, record_key)
CREATE TABLE parked_writes_by_team (
  team_id BIGINT NOT NULL,
  stream TEXT NOT NULL,
  record_key TEXT NOT NULL,
  record TEXT NOT NULL,
  errors TEXT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 1,
  parked_at_ms BIGINT NOT NULL,
  PRIMARY KEY (team_id, stream, record_key)
);
INSERT INTO parked_writes_by_team (team_id, stream, record_key, record, errors, attempts, parked_at_ms) SELECT 1, stream, record_key, record, errors, attempts, parked_at_ms FROM parked_writes;
DROP TABLE parked_writes;
ALTER TABLE parked_writes_by_team RENAME TO parked_writes;

-- oauth_tokens: keyed by (team_id, token_key)
CREATE TABLE oauth_tokens_by_team (
  team_id BIGINT NOT NULL,
  token_key TEXT NOT NULL,               -- which integration / team
  access_token TEXT NOT NULL,
  refresh_token TEXT,
  expires_at_ms BIGINT,
  scope TEXT,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (team_id, token_key)
);
INSERT INTO oauth_tokens_by_team (team_id, token_key, access_token, refresh_token, expires_at_ms, scope, updated_at_ms) SELECT 1, token_key, access_token, refresh_token, expires_at_ms, scope, updated_at_ms FROM oauth_tokens;
DROP TABLE oauth_tokens;
ALTER TABLE oauth_tokens_by_team RENAME TO oauth_tokens;

-- credential_holds: a team's credentials are held (and released) within its team.
CREATE TABLE credential_holds_by_team (
  team_id BIGINT NOT NULL,
  credential TEXT NOT NULL,
  since_ms BIGINT NOT NULL,
  request TEXT NOT NULL,
  status INTEGER,
  message TEXT,
  probe_at_ms BIGINT NOT NULL,
  PRIMARY KEY (team_id, credential)
);
INSERT INTO credential_holds_by_team SELECT 1, credential, since_ms, request, status, message, probe_at_ms FROM credential_holds;
DROP TABLE credential_holds;
ALTER TABLE credential_holds_by_team RENAME TO credential_holds;

-- webhook_events: a delivery is deduplicated within its team.
CREATE TABLE webhook_events_by_team (
  id INTEGER PRIMARY KEY,
  team_id BIGINT NOT NULL,
  source TEXT NOT NULL DEFAULT 'salesloft',
  dedupe_key TEXT NOT NULL,
  event_type TEXT NOT NULL,
  resource_id BIGINT, resource_updated_at_us BIGINT,
  body BLOB NOT NULL,
  received_at_ms BIGINT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processed', 'skipped', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0, processed_at_ms BIGINT, last_error TEXT,
  UNIQUE (team_id, source, dedupe_key)
);
INSERT INTO webhook_events_by_team (id, team_id, source, dedupe_key, event_type, resource_id,
  resource_updated_at_us, body, received_at_ms, status, attempts, processed_at_ms, last_error)
  SELECT id, 1, source, dedupe_key, event_type, resource_id, resource_updated_at_us, body,
  received_at_ms, status, attempts, processed_at_ms, last_error FROM webhook_events;
DROP TABLE webhook_events;
ALTER TABLE webhook_events_by_team RENAME TO webhook_events;
CREATE INDEX webhook_events_pending ON webhook_events (team_id, received_at_ms) WHERE status = 'pending';
CREATE INDEX webhook_events_received ON webhook_events (team_id, received_at_ms);

-- jobs: each belongs to a team; a unique key is unique within its team.
ALTER TABLE jobs ADD COLUMN team_id BIGINT NOT NULL DEFAULT 1;
DROP INDEX jobs_fetch;
CREATE INDEX jobs_fetch ON jobs (team_id, queue, priority, run_at_ms, id) WHERE state = 'available';
CREATE INDEX jobs_running_by_team ON jobs (team_id) WHERE state = 'running';
DROP INDEX jobs_unique_active;
CREATE UNIQUE INDEX jobs_unique_active ON jobs (team_id, unique_key)
  WHERE unique_key IS NOT NULL AND state IN ('available', 'running');

-- engagement_state: one row per team.
CREATE TABLE engagement_state_by_team (
  team_id BIGINT PRIMARY KEY,
  watermark_ms BIGINT NOT NULL,
  settings TEXT NOT NULL,
  computed_at_ms BIGINT NOT NULL
);
INSERT INTO engagement_state_by_team SELECT 1, watermark_ms, settings, computed_at_ms FROM engagement_state;
DROP TABLE engagement_state;
ALTER TABLE engagement_state_by_team RENAME TO engagement_state;
