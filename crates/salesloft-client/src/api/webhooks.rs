use reqwest::Method;

use super::send::{handler, post_json, put_json};
use crate::WebhookSubscriptionId;
use crate::client::Request;
use crate::error::Result;
use crate::models::{WebhookSubscription, WebhookSubscriptionInput};

handler! {
    /// `/v2/webhook_subscriptions`: where SalesLoft delivers events. One subscription per
    /// event type.
    WebhookSubscriptions
}

impl WebhookSubscriptions {
    /// Every subscription of this application on the team; `enabled` filters by state.
    pub async fn list(&self, enabled: Option<bool>) -> Result<Vec<WebhookSubscription>> {
        let mut req = Request::new(
            Method::GET,
            "/v2/webhook_subscriptions",
            "webhook_subscriptions.list",
        );
        if let Some(e) = enabled {
            req = req.query(vec![("enabled".into(), e.to_string())]);
        }
        Ok(self
            .client
            .get_page::<WebhookSubscription>(&req)
            .await?
            .into_records()
            .items)
    }

    /// One subscription.
    pub async fn get(&self, id: WebhookSubscriptionId) -> Result<WebhookSubscription> {
        self.client
            .get_one(
                format!("/v2/webhook_subscriptions/{id}"),
                "webhook_subscriptions.get",
            )
            .await
    }

    /// Subscribe `callback_url` to one event type. The answer is read whether or not
    /// SalesLoft wraps it in `data`. Not retried once the server may have acted.
    pub async fn create(&self, input: &WebhookSubscriptionInput) -> Result<WebhookSubscription> {
        post_json(
            &self.client,
            "/v2/webhook_subscriptions",
            "webhook_subscriptions.create",
            input,
        )
        .await
    }

    /// Turn deliveries on or off.
    pub async fn set_enabled(
        &self,
        id: WebhookSubscriptionId,
        enabled: bool,
    ) -> Result<WebhookSubscription> {
        put_json(
            &self.client,
            format!("/v2/webhook_subscriptions/{id}"),
            "webhook_subscriptions.update",
            &serde_json::json!({ "enabled": enabled }),
        )
        .await
    }

    /// Delete a subscription. Idempotent.
    pub async fn delete(&self, id: WebhookSubscriptionId) -> Result<()> {
        self.client
            .delete(
                format!("/v2/webhook_subscriptions/{id}"),
                "webhook_subscriptions.delete",
            )
            .await
    }
}
