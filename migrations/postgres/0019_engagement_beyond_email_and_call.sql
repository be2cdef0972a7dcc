-- Daily engagement beyond e-mail and call (service-notes section 3): successes, other and
-- integration steps completed, tasks completed, and the total of activities, from the
-- `objects` rows of successes, actions and tasks; the incremental recompute finds the objects written or deleted
-- since its watermark by `synced_at_ms` and `deleted_at_ms`, as it does activities.
ALTER TABLE daily_engagement ADD COLUMN successes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE daily_engagement ADD COLUMN other_steps BIGINT NOT NULL DEFAULT 0;
ALTER TABLE daily_engagement ADD COLUMN integration_steps BIGINT NOT NULL DEFAULT 0;
ALTER TABLE daily_engagement ADD COLUMN activities BIGINT NOT NULL DEFAULT 0;
ALTER TABLE daily_engagement ADD COLUMN tasks_completed BIGINT NOT NULL DEFAULT 0;
CREATE INDEX objects_synced ON objects (team_id, synced_at_ms);
CREATE INDEX objects_deleted ON objects (team_id, deleted_at_ms) WHERE deleted_at_ms IS NOT NULL;
