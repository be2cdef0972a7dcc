-- Type drift and records that are not records.
--
-- `drifted`: the fields of the stored version that SalesLoft sent with a type the models do
-- not read (comma-separated paths, never values); NULL when every field read. The raw JSON
-- is kept whole either way.
ALTER TABLE people ADD COLUMN drifted TEXT;
ALTER TABLE accounts ADD COLUMN drifted TEXT;
ALTER TABLE users ADD COLUMN drifted TEXT;
ALTER TABLE cadences ADD COLUMN drifted TEXT;
ALTER TABLE steps ADD COLUMN drifted TEXT;
ALTER TABLE cadence_memberships ADD COLUMN drifted TEXT;
ALTER TABLE activities ADD COLUMN drifted TEXT;
ALTER TABLE notes ADD COLUMN drifted TEXT;

-- List items a stream could not store at all (not an object, no usable id or timestamps),
-- kept with the reason, once per distinct body.
CREATE TABLE quarantine (
  stream TEXT NOT NULL,
  digest TEXT NOT NULL,            -- hex(sha256(raw))
  record_id BIGINT,
  error TEXT NOT NULL,
  raw TEXT NOT NULL,
  first_seen_at_ms BIGINT NOT NULL,
  last_seen_at_ms BIGINT NOT NULL,
  times BIGINT NOT NULL DEFAULT 1,
  PRIMARY KEY (stream, digest)
);

-- Deletes stay deleted: a soft-deleted row keeps the version it was deleted at in
-- sl_updated_at_us, and a delete for an id never stored leaves a row of its own (a tombstone,
-- raw ''), so only a strictly newer version brings an id back.
