//! What every resource handler is built from: the handler struct macro and the JSON write
//! helpers (create, update, upsert).

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::models::{UpsertType, Upserted};

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
    let record = crate::wire::decode_single_bare(path, &bytes)?;
    Ok(Upserted {
        upsert_type,
        record,
    })
}
