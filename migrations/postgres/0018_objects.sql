-- Every SalesLoft collection kept beyond the first nine, in one table told apart by kind (the
-- resource's name, such as 'account_stages'): the record's raw JSON with the columns every
-- kept table has (versions, soft delete, change feed), and a few typed columns a kind fills
-- where it has them (a name, a state, the user, person, account and cadence it belongs to,
-- when it happened or is due). A new collection needs no migration of its own.
CREATE TABLE objects (
  team_id BIGINT NOT NULL,
  kind TEXT NOT NULL,
  id BIGINT NOT NULL,
  name TEXT,
  state TEXT,
  user_id BIGINT,
  person_id BIGINT,
  account_id BIGINT,
  cadence_id BIGINT,
  occurred_at_us BIGINT,
  sl_created_at_us BIGINT, sl_updated_at_us BIGINT NOT NULL,
  deleted_at_ms BIGINT, raw TEXT NOT NULL, synced_at_ms BIGINT NOT NULL, drifted TEXT,
  change_seq BIGINT NOT NULL DEFAULT 0, first_seq BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (team_id, kind, id)
);
CREATE INDEX objects_person ON objects (team_id, person_id) WHERE person_id IS NOT NULL;
CREATE INDEX objects_occurred ON objects (team_id, kind, occurred_at_us);
