//! Step 2: a local copy of people and accounts, kept by incremental sync.

use salesloft_services::{Context, Stream, SyncEngine, SyncOptions, SyncReport};

use crate::Error;

/// Sync people and accounts into the local copy: a backfill the first time, only what changed
/// after that.
pub async fn sync_people_and_accounts(ctx: &Context) -> Result<SyncReport, Error> {
    let streams = [Stream::named("people"), Stream::named("accounts")];
    let streams: Vec<Stream> = streams.into_iter().flatten().collect();
    let report = SyncEngine::new(ctx.clone())
        .sync(&streams, SyncOptions::default())
        .await;
    match report.streams.iter().find_map(|s| s.error.clone()) {
        Some(e) => Err(e.into()),
        None => Ok(report),
    }
}
