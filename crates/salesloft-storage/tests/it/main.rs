//! The store against SQLite and PostgreSQL (the server SALESLOFT_TEST_DATABASE_URL names, else
//! the local one); every test in its own database, dropped afterwards.

#![allow(clippy::unwrap_used)] // tests panic on purpose when an expectation fails

mod budget;
mod checkpointer;
mod entities;
mod feed;
mod helpers;
mod holds;
mod hostile;
mod isolation;
mod jobs;
mod migrations;
mod sync;
mod teams;
