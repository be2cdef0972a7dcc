//! [`Reconciler`]: the reconcile pass over chosen streams (each stream's pass is
//! [`crate::reconcile`]'s, reached through the stream's table).

use crate::context::Context;
use crate::reconcile::{ReconcileOptions, ReconcileReport};
use crate::streams::Stream;

/// Finds and soft-deletes records SalesLoft no longer has.
#[derive(Debug, Clone)]
pub struct Reconciler {
    ctx: Context,
}

impl Reconciler {
    /// A reconciler of `ctx`'s local copy against its SalesLoft.
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// One pass over each of `streams`, in order; a stream's failure is in its report and
    /// does not stop the others.
    #[tracing::instrument(name = "reconcile", skip_all, fields(streams = streams.len()))]
    pub async fn reconcile(
        &self,
        streams: &[Stream],
        options: ReconcileOptions,
    ) -> Vec<ReconcileReport> {
        let mut out = Vec::new();
        for stream in streams {
            let mut report = ReconcileReport {
                stream: stream.name().to_owned(),
                ..ReconcileReport::default()
            };
            if let Err(e) = stream.reconcile(&self.ctx, options, &mut report).await {
                tracing::warn!(stream = %stream, error.message = %e, error.cause_chain = %crate::error_chain(&e), "reconcile failed; nothing deleted");
                report.error = Some(e.into());
            }
            out.push(report);
        }
        out
    }
}
