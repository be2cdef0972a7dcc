-- The local copy of SalesLoft, sync state, job queue, webhook inbox, shared budget, tokens,
-- outbox and daily engagement. Instants are BIGINT: *_us for SalesLoft timestamps (µs since
-- the epoch), *_ms for our own bookkeeping. No foreign keys between synced tables: SalesLoft
-- does not deliver records in dependency order. 0 means "none" in key columns.

CREATE TABLE people (
  id BIGINT PRIMARY KEY,
  email TEXT, first_name TEXT, last_name TEXT, title TEXT,
  account_id BIGINT, owner_user_id BIGINT, do_not_contact SMALLINT NOT NULL DEFAULT 0,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL
);
CREATE INDEX people_email ON people (lower(email));
CREATE INDEX people_updated ON people (sl_updated_at_us);

CREATE TABLE accounts (
  id BIGINT PRIMARY KEY,
  name TEXT, domain TEXT, owner_user_id BIGINT, archived_at_us BIGINT,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL
);
CREATE INDEX accounts_domain ON accounts (lower(domain));

CREATE TABLE users (
  id BIGINT PRIMARY KEY,
  guid TEXT, email TEXT, name TEXT, active SMALLINT NOT NULL DEFAULT 0, role_id TEXT,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL
);

CREATE TABLE cadences (
  id BIGINT PRIMARY KEY,
  name TEXT, owner_user_id BIGINT, team_cadence SMALLINT NOT NULL DEFAULT 0,
  shared SMALLINT NOT NULL DEFAULT 0, archived_at_us BIGINT,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL
);

CREATE TABLE steps (
  id BIGINT PRIMARY KEY,
  cadence_id BIGINT NOT NULL DEFAULT 0, step_type TEXT, day INTEGER, step_number INTEGER,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL
);
CREATE INDEX steps_cadence ON steps (cadence_id);

CREATE TABLE cadence_memberships (
  id BIGINT PRIMARY KEY,
  person_id BIGINT NOT NULL DEFAULT 0, cadence_id BIGINT NOT NULL DEFAULT 0, user_id BIGINT NOT NULL DEFAULT 0,
  current_state TEXT, currently_on_cadence SMALLINT NOT NULL DEFAULT 0, added_at_us BIGINT,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL
);
CREATE INDEX cm_person ON cadence_memberships (person_id);
CREATE INDEX cm_cadence ON cadence_memberships (cadence_id, current_state);

CREATE TABLE activities (
  kind TEXT NOT NULL CHECK (kind IN ('email', 'call')),
  id BIGINT NOT NULL,
  user_id BIGINT NOT NULL DEFAULT 0, person_id BIGINT NOT NULL DEFAULT 0,
  cadence_id BIGINT NOT NULL DEFAULT 0, step_id BIGINT NOT NULL DEFAULT 0,
  occurred_at_us BIGINT NOT NULL,
  day TEXT NOT NULL,                       -- team-local YYYY-MM-DD, computed in Rust
  status TEXT,                             -- e-mail status or call disposition
  opened SMALLINT NOT NULL DEFAULT 0, clicked SMALLINT NOT NULL DEFAULT 0,
  replied SMALLINT NOT NULL DEFAULT 0, bounced SMALLINT NOT NULL DEFAULT 0,
  duration_s BIGINT,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL,
  PRIMARY KEY (kind, id)
);
CREATE INDEX activities_day ON activities (day, user_id, cadence_id);

CREATE TABLE daily_engagement (
  day TEXT NOT NULL, user_id BIGINT NOT NULL, cadence_id BIGINT NOT NULL DEFAULT 0,
  emails_sent BIGINT NOT NULL DEFAULT 0, emails_opened BIGINT NOT NULL DEFAULT 0,
  emails_clicked BIGINT NOT NULL DEFAULT 0, emails_replied BIGINT NOT NULL DEFAULT 0,
  emails_bounced BIGINT NOT NULL DEFAULT 0, calls BIGINT NOT NULL DEFAULT 0,
  call_seconds BIGINT NOT NULL DEFAULT 0, computed_at_ms BIGINT NOT NULL,
  PRIMARY KEY (day, user_id, cadence_id)
);

CREATE TABLE sync_state (
  stream TEXT PRIMARY KEY,
  cursor_us BIGINT,                         -- newest SalesLoft updated_at fully committed
  boundary_ids TEXT NOT NULL DEFAULT '[]',  -- JSON ids already applied at cursor_us
  tie_page INTEGER NOT NULL DEFAULT 1,      -- > 1 only inside a tie group larger than a page
  backfill_done SMALLINT NOT NULL DEFAULT 0,
  records_total BIGINT NOT NULL DEFAULT 0,
  last_started_at_ms BIGINT, last_success_at_ms BIGINT, last_error TEXT,
  version BIGINT NOT NULL DEFAULT 0,        -- optimistic guard
  updated_at_ms BIGINT NOT NULL
);

CREATE TABLE webhook_events (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source TEXT NOT NULL DEFAULT 'salesloft',
  dedupe_key TEXT NOT NULL,                 -- hex(sha256(event_type || '\n' || body))
  event_type TEXT NOT NULL,
  resource_id BIGINT, resource_updated_at_us BIGINT,
  body BYTEA NOT NULL,
  received_at_ms BIGINT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processed', 'skipped', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0, processed_at_ms BIGINT, last_error TEXT,
  UNIQUE (source, dedupe_key)
);
CREATE INDEX webhook_events_pending ON webhook_events (received_at_ms) WHERE status = 'pending';

CREATE TABLE jobs (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue TEXT NOT NULL DEFAULT 'default',
  kind TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT '{}',
  state TEXT NOT NULL DEFAULT 'available'
        CHECK (state IN ('available', 'running', 'completed', 'dead', 'cancelled')),
  priority SMALLINT NOT NULL DEFAULT 100,   -- lower first
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 20,
  run_at_ms BIGINT NOT NULL,
  unique_key TEXT,
  unique_running SMALLINT NOT NULL DEFAULT 1, -- 0: the key is released when a job starts
  lock_token TEXT, locked_by TEXT,
  locked_until_ms BIGINT, heartbeat_at_ms BIGINT,
  last_error TEXT,
  created_at_ms BIGINT NOT NULL, updated_at_ms BIGINT NOT NULL, finalized_at_ms BIGINT
) WITH (fillfactor = 80);
CREATE INDEX jobs_fetch ON jobs (queue, priority, run_at_ms, id) WHERE state = 'available';
CREATE INDEX jobs_running ON jobs (locked_until_ms) WHERE state = 'running';
CREATE INDEX jobs_final ON jobs (finalized_at_ms) WHERE state IN ('completed', 'dead', 'cancelled');
CREATE UNIQUE INDEX jobs_unique_active ON jobs (unique_key)
  WHERE unique_key IS NOT NULL AND state IN ('available', 'running');
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

CREATE TABLE api_budget (
  budget_key TEXT PRIMARY KEY,              -- 'salesloft:team:<id>'
  capacity DOUBLE PRECISION NOT NULL,
  refill_per_ms DOUBLE PRECISION NOT NULL,
  tokens DOUBLE PRECISION NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  blocked_until_ms BIGINT NOT NULL DEFAULT 0,
  reserve DOUBLE PRECISION NOT NULL DEFAULT 60
);

CREATE TABLE oauth_tokens (
  token_key TEXT PRIMARY KEY,               -- which integration / team
  access_token TEXT NOT NULL,
  refresh_token TEXT,
  expires_at_ms BIGINT,
  scope TEXT,
  updated_at_ms BIGINT NOT NULL
);

CREATE TABLE outbox (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  resource TEXT NOT NULL,                   -- 'person', 'account', 'cadence_membership'
  local_id TEXT NOT NULL,                   -- the caller's id for the change
  remote_id BIGINT,                         -- SalesLoft id once known
  operation TEXT NOT NULL CHECK (operation IN ('create', 'update', 'upsert', 'delete')),
  payload TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
  created_at_ms BIGINT NOT NULL, sent_at_ms BIGINT
);
CREATE INDEX outbox_pending ON outbox (created_at_ms) WHERE state = 'pending';
