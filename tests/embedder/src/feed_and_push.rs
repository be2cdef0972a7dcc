//! Step 5: people changed in SalesLoft, read from a cursor the service keeps as text, and the
//! service's own changes pushed back under the default field rules.

use salesloft_services::{
    ChangeBatch, ChangeCursor, Context, FieldPolicies, LocalPerson, PeopleSync, PushOptions,
    PushReport,
};

use crate::Error;

/// Up to `limit` people changed in SalesLoft after `since` (`start`, or a cursor's text),
/// the toolkit's own writes left out; the batch's `next` is where to read on from.
pub async fn changes(ctx: &Context, since: &str, limit: usize) -> Result<ChangeBatch, Error> {
    let since: ChangeCursor = since.parse()?;
    Ok(people(ctx).changes(since, limit).await?)
}

/// Push the service's people to SalesLoft, writing only what the rules say must change.
pub async fn push(ctx: &Context, records: &[LocalPerson]) -> Result<PushReport, Error> {
    Ok(people(ctx)
        .push(records, &PushOptions::default(), None)
        .await?)
}

fn people(ctx: &Context) -> PeopleSync {
    PeopleSync::new(ctx.clone(), FieldPolicies::people_defaults())
}
