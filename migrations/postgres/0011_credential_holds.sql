-- Credentials SalesLoft rejected (a revoked key, OAuth tokens it no longer accepts): every
-- process using them stops sending requests, except one probe at probe_at_ms, until they change.
-- `credential` is the client's credential id, a digest that does not reveal the credential.
CREATE TABLE credential_holds (
  credential TEXT PRIMARY KEY,
  since_ms BIGINT NOT NULL,
  request TEXT NOT NULL,
  status INTEGER,
  message TEXT,
  probe_at_ms BIGINT NOT NULL
);
-- A job waiting for held credentials: run_at_ms is the hold's next probe, and a scheduled
-- enqueue does not pull it forward; lifting the hold (a probe accepted, new credentials,
-- `salesloft jobs resume`) runs it at once.
ALTER TABLE jobs ADD COLUMN held_by TEXT;
