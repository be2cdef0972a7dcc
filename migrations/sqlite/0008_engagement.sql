-- Daily engagement exactly as defined (service-notes section 3): an e-mail counts only once
-- sent, so activities say whether it was; the range scans of a recompute go by instant, and
-- the incremental one finds what changed by when it was written. daily_engagement gains the
-- delivered and connected counts, and engagement_state the last recompute's watermark.
ALTER TABLE activities ADD COLUMN sent SMALLINT NOT NULL DEFAULT 0;
UPDATE activities SET sent = 1
  WHERE kind = 'email' AND json_type(raw, '$.sent_at') = 'text';
CREATE INDEX activities_occurred ON activities (occurred_at_us);
CREATE INDEX activities_synced ON activities (synced_at_ms);
CREATE INDEX activities_deleted ON activities (deleted_at_ms) WHERE deleted_at_ms IS NOT NULL;
ALTER TABLE daily_engagement ADD COLUMN emails_delivered BIGINT NOT NULL DEFAULT 0;
ALTER TABLE daily_engagement ADD COLUMN calls_connected BIGINT NOT NULL DEFAULT 0;
CREATE TABLE engagement_state (
  id SMALLINT PRIMARY KEY CHECK (id = 1),
  watermark_ms BIGINT NOT NULL,     -- activities written before this are in daily_engagement
  settings TEXT NOT NULL,           -- the time zone and dispositions the rows were computed with
  computed_at_ms BIGINT NOT NULL
);
