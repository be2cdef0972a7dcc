-- The webhook subscriptions the toolkit created (or adopted) in SalesLoft, with the callback
-- token each delivery is signed with: the server verifies against these tokens and those in
-- its configuration. The token is a shared secret, kept like the OAuth tokens.
CREATE TABLE webhook_subscriptions (
  id BIGINT PRIMARY KEY,           -- SalesLoft's subscription id
  event_type TEXT NOT NULL,
  callback_url TEXT NOT NULL,
  callback_token TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL
);
CREATE INDEX webhook_subscriptions_url ON webhook_subscriptions (callback_url);
