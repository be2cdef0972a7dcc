#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod event;
mod inbox;
pub mod jobs;
mod processor;
mod subscriptions;
mod verify;

pub use error::{Error, Result};
pub use event::{Action, EventType};
pub use inbox::{Inbox, InboxConfig, Receipt, Refusal, StoreFailure};
pub use processor::{BatchReport, PROCESS_KIND, ProcessPayload, Processed, Processor, SyncJobFor};
pub use subscriptions::{Subscribed, reload_tokens, stored_verifier, subscribe_all};
pub use verify::{SignatureError, Verifier, sign};
