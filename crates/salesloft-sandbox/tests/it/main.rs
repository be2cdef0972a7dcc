//! The sandbox over HTTP: its own rules, and salesloft-client against it end to end.

#![allow(clippy::unwrap_used)] // tests panic on purpose when an expectation fails

mod api;
mod client;
mod faults_and_limits;
mod helpers;
mod teams;
mod webhooks_and_oauth;
