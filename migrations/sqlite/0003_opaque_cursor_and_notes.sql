-- The sync cursor becomes one opaque column: the JSON its owner (salesloft-services, with
-- salesloft-client's WalkCursor) serialises it to. Storage no longer knows the walk's fields.
-- Existing cursors move over; the old columns stay, unused, so a previous release running
-- beside this one still starts (expand/contract: a later migration drops them).
ALTER TABLE sync_state ADD COLUMN cursor TEXT;
UPDATE sync_state SET cursor = json_object(
    'updated_at_us', cursor_us,
    'seen_ids', json(boundary_ids),
    'page', tie_page,
    'window', json(walk_window))
  WHERE cursor_us IS NOT NULL OR walk_window IS NOT NULL OR tie_page <> 1;

-- Notes join the local copy (one table per synced resource).
CREATE TABLE notes (
  id BIGINT PRIMARY KEY,
  associated_type TEXT, associated_id BIGINT, user_id BIGINT, call_id BIGINT, content TEXT,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL
);
CREATE INDEX notes_associated ON notes (associated_type, associated_id);
