//! Webhook deliveries: every change is POSTed, as the bare resource JSON, to each enabled
//! subscription for its event type, signed `x-salesloft-signature: hex(HMAC-SHA1(callback_token,
//! body))`, and retried three more times, `retry_interval` apart, when it fails.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha1::Sha1;

use crate::world::{Event, Subscription};

/// Attempts per delivery: the first and three retries.
pub const ATTEMPTS: u32 = 4;

/// `hex(HMAC-SHA1(key, body))`, as SalesLoft signs deliveries.
pub fn sign(key: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// One delivery attempt, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryAttempt {
    /// The subscription delivered to.
    pub subscription_id: i64,
    /// The event type.
    pub event_type: String,
    /// The callback URL.
    pub url: String,
    /// 1 for the first attempt, up to [`ATTEMPTS`].
    pub attempt: u32,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, if the attempt failed.
    pub error: Option<String>,
    /// The signature sent.
    pub signature: String,
}

/// Sends deliveries in the background and keeps a log of attempts.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    http: reqwest::Client,
    retry_interval: Duration,
    log: Arc<Mutex<VecDeque<DeliveryAttempt>>>,
}

const LOG_CAPACITY: usize = 10_000;

impl Dispatcher {
    /// A dispatcher retrying every `retry_interval` and waiting `timeout` for each receiver.
    pub fn new(retry_interval: Duration, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Self {
            http,
            retry_interval,
            log: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    /// Deliver `events` to the matching enabled `subscriptions`, in the background.
    pub fn dispatch(&self, subscriptions: &[Subscription], events: Vec<Event>) {
        for event in events {
            for sub in subscriptions
                .iter()
                .filter(|s| s.enabled && s.event_type == event.event_type)
            {
                let this = self.clone();
                let sub = sub.clone();
                let body = event.body.clone();
                tokio::spawn(async move { this.deliver(sub, body).await });
            }
        }
    }

    async fn deliver(&self, sub: Subscription, body: Bytes) {
        let signature = sign(&sub.callback_token, &body);
        for attempt in 1..=ATTEMPTS {
            let result = self
                .http
                .post(&sub.callback_url)
                .header("content-type", "application/json")
                .header("x-salesloft-event", &sub.event_type)
                .header("x-salesloft-signature", &signature)
                .body(body.clone())
                .send()
                .await;
            let (status, error) = match result {
                Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
                Ok(r) => (
                    Some(r.status().as_u16()),
                    Some(format!("HTTP {}", r.status())),
                ),
                Err(e) => (None, Some(e.to_string())),
            };
            let failed = error.is_some();
            self.record(DeliveryAttempt {
                subscription_id: sub.id,
                event_type: sub.event_type.clone(),
                url: sub.callback_url.clone(),
                attempt,
                status,
                error,
                signature: signature.clone(),
            });
            if !failed {
                return;
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(self.retry_interval).await;
            }
        }
    }

    fn record(&self, a: DeliveryAttempt) {
        if let Ok(mut log) = self.log.lock() {
            if log.len() >= LOG_CAPACITY {
                log.pop_front();
            }
            log.push_back(a);
        }
    }

    /// Every attempt so far (the latest 10,000).
    pub fn attempts(&self) -> Vec<DeliveryAttempt> {
        self.log
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forget the log.
    pub fn clear(&self) {
        if let Ok(mut l) = self.log.lock() {
            l.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hex_hmac_sha1() {
        // RFC 2202 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }
}
