-- Every failed attempt's error, not only the last: a JSON array of
-- {"attempt": n, "at_ms": t, "error": "..."} appended by each failure and each reaped lease,
-- so a dead job shows why each of its attempts failed.
ALTER TABLE jobs ADD COLUMN errors TEXT NOT NULL DEFAULT '[]';
