-- What the team budget spent, per calendar minute: cost, requests and 429s, for the status
-- page's chart. Written by every process beside the budget row; rows older than a week are
-- pruned when a process opens the budget.
CREATE TABLE api_spend (
  budget_key TEXT NOT NULL,
  minute_ms BIGINT NOT NULL,
  cost DOUBLE PRECISION NOT NULL DEFAULT 0,
  requests BIGINT NOT NULL DEFAULT 0,
  rate_limited BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (budget_key, minute_ms)
);
CREATE INDEX webhook_events_received ON webhook_events (received_at_ms);
