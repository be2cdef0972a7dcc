-- Expand step of removing what nothing reads. The outbox table was never written by any
-- release; the activities_day index was read by no query, yet every activity write kept it
-- up to date. activities.day (a team-local day computed in Rust) is unread since engagement
-- computes each user's local day in SQL: this release stops writing it, so it gets a default
-- here while a previous release, which still writes it, may run beside this one. The column
-- itself goes in the contract step (contract/0013_drop_activities_day.sql, run by
-- `salesloft migrate --contract` once no process of an older release is left).
DROP TABLE IF EXISTS outbox;
DROP INDEX IF EXISTS activities_day;
ALTER TABLE activities ALTER COLUMN day SET DEFAULT '';
