-- Named leases: one holder at a time across every process on this database, lapsing on their
-- own when a holder dies. Used for the OAuth refresh lock (`oauth-refresh:<token key>`) and
-- for the one sync of a stream at a time (`sync:<stream>`).
--
-- A process takes a lease by inserting its row, or by taking over a row whose lease lapsed;
-- it renews by pushing `expires_at_ms` forward while it still owns the row, and gives it back
-- by deleting the row.
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,             -- random per lease taken
  expires_at_ms BIGINT NOT NULL
);
