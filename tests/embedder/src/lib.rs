//! A small service built on the toolkit's published libraries alone (no binary, no
//! salesloft-runtime), as an embedder writes it from the docs: the five things an embedder
//! does, one module each, and the wiring they share ([`Service`]). Its tests run them against
//! the sandbox, so a step that needs glue only the binaries have fails here first.
//!
//! 1. [`client_only`]: list through the client;
//! 2. [`local_copy`]: keep a local copy by incremental sync;
//! 3. [`webhooks`]: subscribe, and receive verified deliveries in the service's own axum router;
//! 4. [`worker`]: run the job runner with every built-in job and a job kind of its own;
//! 5. [`feed_and_push`]: read people changed in SalesLoft and push local changes back.

use std::sync::Arc;

use salesloft_client::{Auth, BudgetConfig, Client};
use salesloft_services::Context;
use salesloft_storage::{SharedBudget, Store};

pub mod client_only;
pub mod feed_and_push;
pub mod local_copy;
pub mod webhooks;
pub mod worker;

/// Any failure of a step, with its cause chain (every library error converts with `?`).
pub type Error = salesloft_client::BoxError;

/// What every step shares: a client spending from the team's shared budget, and the store.
#[derive(Debug, Clone)]
pub struct Service {
    /// The SalesLoft client.
    pub client: Client,
    /// The local copy, the job queue and the webhook inbox.
    pub store: Store,
}

impl Service {
    /// Migrate `store` and build a client for `base_url` with `api_key` that spends from the
    /// budget every process of the team shares (named as the toolkit's binaries name it).
    pub async fn connect(
        base_url: &str,
        api_key: &str,
        store: Store,
        budget: BudgetConfig,
    ) -> Result<Self, Error> {
        store.migrate().await?;
        let auth = Auth::api_key(api_key);
        let budget = SharedBudget::new(store.clone(), auth.budget_key(base_url), budget).await?;
        let client = Client::builder(auth)
            .base_url(base_url)
            .limiter(Arc::new(budget))
            .build()?;
        Ok(Self { client, store })
    }

    /// The services' context over the client and the store.
    pub fn context(&self) -> Context {
        Context::new(self.client.clone(), self.store.clone())
    }
}
