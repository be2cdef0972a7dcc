//! The SalesLoft v2 wire format as Rust types.
//!
//! Rules every model follows:
//! - every field real data can leave `null` is an `Option` (only `id`, `created_at` and
//!   `updated_at` are required, as the recorded payloads show); a missing field reads as `None`;
//! - lists read `null` as empty, because SalesLoft gives an empty list and `null` no different meaning;
//! - fields this crate does not know are kept in `extra` and written back on serialisation,
//!   so nothing SalesLoft sends is lost on its way to storage;
//! - timestamps are [`Timestamp`]s: they keep the team's UTC offset and microseconds, and compare
//!   as instants.

mod account;
mod activity;
mod cadence;
mod definitions;
mod engagement;
mod feed;
mod note;
mod person;
pub(crate) mod record;
mod task;
mod user;
mod webhook;

pub use account::*;
pub use activity::*;
pub use cadence::*;
pub use definitions::*;
pub use engagement::*;
pub use feed::*;
pub use note::*;
pub use person::*;
pub use record::{Extra, Record, Ref, Timestamp};
pub use task::*;
pub use user::*;
pub use webhook::*;
