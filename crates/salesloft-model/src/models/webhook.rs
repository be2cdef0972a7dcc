use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::record::Extra;
use crate::ids::WebhookSubscriptionId;

/// A webhook subscription: SalesLoft POSTs every `event_type` event to `callback_url`, signed
/// with `callback_token`.
#[derive(Clone, Serialize, Deserialize)]
pub struct WebhookSubscription {
    /// SalesLoft id.
    pub id: WebhookSubscriptionId,
    /// Where events are delivered.
    #[serde(default)]
    pub callback_url: Option<String>,
    /// The HMAC key of `x-salesloft-signature`. A secret: it never appears in `Debug` output.
    #[serde(
        default,
        serialize_with = "serialize_secret",
        skip_serializing_if = "Option::is_none"
    )]
    pub callback_token: Option<SecretString>,
    /// The event type, such as `person_updated`.
    #[serde(default)]
    pub event_type: Option<String>,
    /// Whether deliveries are on.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The tenant (team) id.
    #[serde(default)]
    pub tenant_id: Option<i64>,
    /// The subscribing user's guid.
    #[serde(default)]
    pub user_guid: Option<String>,
    /// Fields this crate has no typed field for.
    #[serde(flatten)]
    pub extra: Extra,
}

fn serialize_secret<S: serde::Serializer>(
    secret: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(v) => s.serialize_str(v.expose_secret()),
        None => s.serialize_none(),
    }
}

impl std::fmt::Debug for WebhookSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSubscription")
            .field("id", &self.id)
            .field("callback_url", &self.callback_url)
            .field(
                "callback_token",
                &self.callback_token.as_ref().map(|_| "[redacted]"),
            )
            .field("event_type", &self.event_type)
            .field("enabled", &self.enabled)
            .field("tenant_id", &self.tenant_id)
            .field("user_guid", &self.user_guid)
            .finish_non_exhaustive()
    }
}

/// The body of `POST /v2/webhook_subscriptions`.
#[derive(Clone)]
pub struct WebhookSubscriptionInput {
    /// Where events are to be delivered.
    pub callback_url: String,
    /// The HMAC key SalesLoft signs deliveries with. Keep it secret.
    pub callback_token: SecretString,
    /// The event type, such as `person_updated`.
    pub event_type: String,
}

impl Serialize for WebhookSubscriptionInput {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("WebhookSubscriptionInput", 3)?;
        st.serialize_field("callback_url", &self.callback_url)?;
        st.serialize_field("callback_token", self.callback_token.expose_secret())?;
        st.serialize_field("event_type", &self.event_type)?;
        st.end()
    }
}

impl std::fmt::Debug for WebhookSubscriptionInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSubscriptionInput")
            .field("callback_url", &self.callback_url)
            .field("callback_token", &"[redacted]")
            .field("event_type", &self.event_type)
            .finish()
    }
}
