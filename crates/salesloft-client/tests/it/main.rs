//! salesloft-client against wiremock: one binary, one module per behaviour.

mod auth;
mod decode;
mod errors;
mod helpers;
mod limits;
mod lists;
mod retries;
mod walk;
mod writes;
