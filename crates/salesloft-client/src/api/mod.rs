//! One handler per SalesLoft resource: `client.people()`, `client.cadences()`, ...

mod accounts;
mod activities;
mod cadences;
mod memberships;
mod notes;
mod people;
mod users;
mod webhooks;

pub use accounts::{AccountSort, AccountUpsertKey, Accounts};
pub use activities::{CallSort, Calls, EmailSort, Emails};
pub use cadences::{CadenceSort, Cadences, StepSort, Steps};
pub use memberships::{CadenceMemberships, MembershipSort};
pub use notes::{NoteSort, Notes};
pub use people::{People, PersonSort, PersonUpsertKey};
pub use users::{UserSort, Users};
pub use webhooks::WebhookSubscriptions;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::models::{Team, UpsertType, Upserted, User};

impl Client {
    /// The authenticated user (`GET /v2/me`).
    pub async fn me(&self) -> Result<User> {
        self.get_one("/v2/me".into(), "me.get").await
    }

    /// The authenticated user's team (`GET /v2/team`).
    pub async fn team(&self) -> Result<Team> {
        self.get_one("/v2/team".into(), "team.get").await
    }

    /// People (prospects).
    pub fn people(&self) -> People {
        People::new(self.clone())
    }

    /// Accounts (companies).
    pub fn accounts(&self) -> Accounts {
        Accounts::new(self.clone())
    }

    /// Users of the team.
    pub fn users(&self) -> Users {
        Users::new(self.clone())
    }

    /// Cadences.
    pub fn cadences(&self) -> Cadences {
        Cadences::new(self.clone())
    }

    /// Cadence steps.
    pub fn steps(&self) -> Steps {
        Steps::new(self.clone())
    }

    /// Cadence memberships: enrolling people in cadences and removing them.
    pub fn cadence_memberships(&self) -> CadenceMemberships {
        CadenceMemberships::new(self.clone())
    }

    /// E-mail activities.
    pub fn emails(&self) -> Emails {
        Emails::new(self.clone())
    }

    /// Call activities.
    pub fn calls(&self) -> Calls {
        Calls::new(self.clone())
    }

    /// Notes on people and accounts.
    pub fn notes(&self) -> Notes {
        Notes::new(self.clone())
    }

    /// Webhook subscriptions.
    pub fn webhook_subscriptions(&self) -> WebhookSubscriptions {
        WebhookSubscriptions::new(self.clone())
    }
}

/// Declares a resource handler struct holding a client.
macro_rules! handler {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            client: $crate::client::Client,
        }

        impl $name {
            pub(crate) fn new(client: $crate::client::Client) -> Self {
                Self { client }
            }
        }
    };
}
pub(crate) use handler;

/// `POST` a JSON body and decode the one record that comes back.
pub(crate) async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
    client: &Client,
    path: &str,
    endpoint: &'static str,
    body: &B,
) -> Result<T> {
    client
        .send_one(Request::new(Method::POST, path, endpoint).json(body)?)
        .await
}

/// `PUT` a JSON body and decode the one record that comes back.
pub(crate) async fn put_json<B: Serialize + ?Sized, T: DeserializeOwned>(
    client: &Client,
    path: String,
    endpoint: &'static str,
    body: &B,
) -> Result<T> {
    client
        .send_one(Request::new(Method::PUT, path, endpoint).json(body)?)
        .await
}

/// `POST` an upsert (idempotent by its key, so retried like a `PUT`) and read the answer in
/// either shape SalesLoft may use: `{"upsert_type": ..., "<record_key>": {...}}` or the record.
pub(crate) async fn upsert<B: Serialize + ?Sized, T: DeserializeOwned>(
    client: &Client,
    path: &str,
    endpoint: &'static str,
    record_key: &str,
    body: &B,
) -> Result<Upserted<T>> {
    let req = Request::new(Method::POST, path, endpoint)
        .json(body)?
        .idempotent();
    let mut value: serde_json::Value = client.send_one(req).await?;
    let upsert_type = value
        .get("upsert_type")
        .cloned()
        .and_then(|v| serde_json::from_value::<UpsertType>(v).ok());
    let record_value = match value.get_mut(record_key) {
        Some(inner) if inner.is_object() => inner.take(),
        _ => value,
    };
    let bytes = serde_json::to_vec(&record_value)
        .map_err(|e| Error::InvalidArgument(format!("re-encoding upsert answer: {e}")))?;
    let record = crate::client::decode_single_bare(path, &bytes)?;
    Ok(Upserted {
        upsert_type,
        record,
    })
}
