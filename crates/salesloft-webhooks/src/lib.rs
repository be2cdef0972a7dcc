//! SalesLoft webhooks, verified and kept.
//!
//! SalesLoft POSTs every change as the bare record JSON with `x-salesloft-event` (its type) and
//! `x-salesloft-signature` (hex HMAC-SHA1 of the body keyed by the subscription's
//! `callback_token`), and retries a failed delivery only three times, 15 s apart. So a
//! receiver must answer in milliseconds and never lose what it answered: this crate
//!
//! - verifies the signature against every active token before reading the body
//!   ([`Verifier`], [`sign`]);
//! - stores each delivery once, with its processing job in the same transaction, committing
//!   concurrent deliveries together ([`Inbox`]); a repeat is answered and not stored again;
//! - applies a stored delivery with the sync's monotonic upsert and pulls the stream's next
//!   sync forward so the poller confirms ([`Processor`], run as [`PROCESS_KIND`] jobs).
//!
//! Webhooks are hints that make the copy fresh within seconds; the poller stays the source of
//! truth (a receiver down for a minute loses deliveries for good).
//!
//! ```no_run
//! # async fn demo(store: salesloft_storage::Store, body: bytes::Bytes, event: &[u8], signature: &[u8]) {
//! use salesloft_webhooks::{Inbox, InboxConfig, Receipt, Verifier};
//! let token = secrecy::SecretString::from("the subscription's callback_token".to_owned());
//! let inbox = Inbox::new(store, Verifier::new([&token]), InboxConfig::default());
//! match inbox.receive(Some(event), Some(signature), body).await {
//!     Ok(Receipt::Stored(_) | Receipt::Duplicate) => { /* answer 200 */ }
//!     Err(refusal) => { let _status = refusal.status(); /* 401, 413, 400 or 503 */ }
//! }
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod event;
mod inbox;
pub mod jobs;
mod processor;
mod verify;

pub use error::{Error, Result};
pub use event::{Action, EventType};
pub use inbox::{Inbox, InboxConfig, Receipt, Refusal, StoreFailure};
pub use processor::{BatchReport, PROCESS_KIND, ProcessPayload, Processed, Processor, SyncJobFor};
pub use verify::{SignatureError, Verifier, sign};
