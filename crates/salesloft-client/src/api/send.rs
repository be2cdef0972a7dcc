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

/// Declares a list-only resource's handler: its list type (with its accessor on the client),
/// sort fields and `get`; the caller's module imports `ListRequest`.
macro_rules! list_handler {
    (
        $(#[$doc:meta])* $list:ident = $accessor:ident, $resource:ident, $item:ty, $id:ty,
        $(#[$sdoc:meta])* $sort:ident { $($(#[$vdoc:meta])* $variant:ident => $field:literal),* $(,)? }
    ) => {
        $crate::api::send::handler! {
            $(#[$doc])*
            $list
        }

        $crate::list::sort_fields! {
            $(#[$sdoc])*
            $sort { $($(#[$vdoc])* $variant => $field),* }
        }

        impl $crate::list::ListResource for $list {
            const RESOURCE: &'static $crate::resource::Resource = &$crate::resource::$resource;
            type Item = $item;
            type Id = $id;
            type Sort = $sort;
        }

        impl crate::client::Client {
            $(#[$doc])*
            pub fn $accessor(&self) -> $list {
                $list::new(self.clone())
            }
        }

        impl $list {
            /// Start a list request.
            pub fn list(&self) -> $crate::list::ListRequest<$list> {
                $crate::list::ListRequest::new(self.client.clone())
            }

            /// One record by id.
            pub async fn get(&self, id: $id) -> $crate::error::Result<$item> {
                let path = format!("{}/{id}", $crate::resource::$resource.path);
                self.client
                    .get_one(path, concat!(stringify!($accessor), ".get"))
                    .await
            }
        }
    };
}
pub(crate) use list_handler;

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
