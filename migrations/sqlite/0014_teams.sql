-- The SalesLoft teams one deployment serves. Credentials are sealed (XChaCha20-Poly1305) with
-- a key from the configuration, named by credentials_key_id; never stored in the clear.
CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    base_url TEXT NOT NULL,
    salesloft_team_id INTEGER,
    name TEXT,
    state TEXT NOT NULL DEFAULT 'active',
    settings TEXT NOT NULL DEFAULT '{}',
    credentials_key_id TEXT NOT NULL,
    credentials_nonce BLOB NOT NULL,
    credentials BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
-- One slug per SalesLoft team (at one API).
CREATE UNIQUE INDEX teams_salesloft_team ON teams (base_url, salesloft_team_id);
