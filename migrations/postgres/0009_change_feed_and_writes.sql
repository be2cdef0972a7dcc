-- The change feed and two-way people sync. Every record table gains change_seq (the
-- position of the transaction that last changed the row) and first_seq (the one that first
-- stored it). A transaction takes its position by bumping its table's row of change_counters,
-- whose lock it holds to commit: positions are handed out in commit order, so a reader that
-- sees position n sees every change before n, and a change committed late can never appear
-- behind a reader's cursor. Rows stored before this migration are at position 0.
CREATE TABLE change_counters (
  stream TEXT PRIMARY KEY,
  seq BIGINT NOT NULL
);
ALTER TABLE people ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE people ADD COLUMN first_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN first_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN first_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cadences ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cadences ADD COLUMN first_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE steps ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE steps ADD COLUMN first_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cadence_memberships ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cadence_memberships ADD COLUMN first_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE activities ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE activities ADD COLUMN first_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notes ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notes ADD COLUMN first_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX people_changes ON people (change_seq, id);
-- People keyed by CRM id, for pushes that name them so.
ALTER TABLE people ADD COLUMN crm_id TEXT;
UPDATE people SET crm_id = raw::jsonb ->> 'crm_id' WHERE raw <> '' AND jsonb_typeof(raw::jsonb -> 'crm_id') = 'string';
CREATE INDEX people_crm_id ON people (crm_id) WHERE crm_id IS NOT NULL;
-- What the toolkit itself last wrote to each record: the version and content SalesLoft
-- answered with, so the poll or webhook that brings a write back is known as its echo.
CREATE TABLE own_writes (
  stream TEXT NOT NULL,
  id BIGINT NOT NULL,
  version_us BIGINT NOT NULL,
  content_hash TEXT NOT NULL,
  written_at_ms BIGINT NOT NULL,
  PRIMARY KEY (stream, id)
);
-- Records SalesLoft refused (422) with its field errors, by the caller's key, until a later
-- push of the same key succeeds.
CREATE TABLE parked_writes (
  stream TEXT NOT NULL,
  record_key TEXT NOT NULL,
  record TEXT NOT NULL,
  errors TEXT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 1,
  parked_at_ms BIGINT NOT NULL,
  PRIMARY KEY (stream, record_key)
);
