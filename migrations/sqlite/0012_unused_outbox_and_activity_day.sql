-- Removing what nothing reads. The outbox table was never written by any release; the
-- activities_day index was read by no query, yet every activity write kept it up to date;
-- activities.day (a team-local day computed in Rust) is unread since engagement computes each
-- user's local day in SQL, and this release stops writing it. On PostgreSQL, where processes
-- of two releases overlap during a rolling deploy, the column first gets a default and is
-- dropped by a later contract step. SQLite cannot give an existing column a default without
-- rewriting the table, and a SQLite file is served by one release at a time (its one process
-- and that release's CLI), so here the column goes at once: one rewrite, not two.
DROP TABLE IF EXISTS outbox;
DROP INDEX IF EXISTS activities_day;
ALTER TABLE activities DROP COLUMN day;
