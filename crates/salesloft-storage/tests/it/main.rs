//! The store against SQLite always, and PostgreSQL when SALESLOFT_TEST_DATABASE_URL is set;
//! every test in its own database, dropped afterwards.

#![allow(clippy::unwrap_used)] // tests panic on purpose when an expectation fails

mod budget;
mod checkpointer;
mod entities;
mod helpers;
mod jobs;
mod sync;
