-- Contract step of 0012: activities.day, unread and no longer written. Run only once every
-- process runs a release that no longer writes it (`salesloft migrate --contract`).
ALTER TABLE activities DROP COLUMN IF EXISTS day;
