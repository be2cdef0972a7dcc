//! Incremental, resumable sync of SalesLoft into PostgreSQL or SQLite at the lowest API cost.
//!
//! [`SyncEngine`] reads every stream (users, accounts, people, cadences, steps, cadence
//! memberships, e-mails, calls) with salesloft-client's incremental walk — `updated_at[gte]`
//! ascending, always at page 1, so each request costs 1 — and writes each page together with
//! the stream's cursor in one transaction. The first run backfills; later runs fetch only what
//! changed; a run killed at any moment resumes with nothing lost or duplicated. Streams run
//! concurrently under the client's one cost limiter, and one stream's failure does not stop the
//! others.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use salesloft_services::{Stream, SyncEngine, SyncOptions};
//! let client = salesloft_client::Client::builder(salesloft_client::Auth::api_key("ak_...")).build()?;
//! let store = salesloft_storage::Store::connect("sqlite://salesloft.db").await?;
//! store.migrate().await?;
//! let report = SyncEngine::new(client, store).sync(&Stream::ALL, SyncOptions::default()).await;
//! for s in &report.streams {
//!     println!("{}: {} fetched, {} new, cost {}", s.stream, s.fetched, s.inserted, s.cost);
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod sync;
pub mod verify;

pub use error::{Error, Result};
pub use sync::{Progress, Stream, StreamReport, SyncEngine, SyncOptions, SyncReport, lag};
