-- The OAuth connect flow's states in flight: one row per browser sent to SalesLoft's
-- authorize page, deleted when its callback arrives (so a state is used once) or when it
-- expires (10 minutes). Deployment-wide: the team is not known until the callback.
CREATE TABLE connect_states (
    nonce TEXT PRIMARY KEY,
    slug TEXT,
    expires_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX connect_states_expiry ON connect_states (expires_at_ms);
