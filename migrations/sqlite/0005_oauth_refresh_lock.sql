-- One OAuth refresh at a time across every process sharing a token pair.
--
-- A process takes the row for its token_key (insert, or take over an expired lease), refreshes,
-- saves the new pair in oauth_tokens and deletes its row. A holder that crashes leaves the row
-- until `expires_at_ms`, after which the next process takes it over.
CREATE TABLE oauth_refresh_locks (
  token_key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,             -- random per lock taken
  expires_at_ms BIGINT NOT NULL
);
