-- The walk's window (salesloft-client WalkWindow as JSON): a fixed query read by page number,
-- NULL outside one. See salesloft-client's walk module.
ALTER TABLE sync_state ADD COLUMN walk_window TEXT;
