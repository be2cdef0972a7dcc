//! The synced streams: one per resource of salesloft-client's registry, each pairing the
//! resource's list request with the entity the store keeps it as. Everything that handles
//! "every stream" (sync, verification, status, the command line) iterates [`Stream::all`];
//! adding a resource to the client's registry adds its stream here with no change to this file.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use salesloft_client::{ListResource, Resource};
use salesloft_storage::{Entity, Store};
use serde::Serialize;

use crate::apply::{self, Applied, DeleteHint};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::pipeline::{self, Run};
use crate::reconcile::{self, ReconcileOptions, ReconcileReport};

/// A stream of SalesLoft records kept in the local copy: a resource, its list request and its
/// stored entity. Copy it freely; compare and print it by name.
#[derive(Clone, Copy)]
pub struct Stream {
    resource: &'static Resource,
    ops: &'static dyn StreamOps,
}

/// Records stored with drifted fields, and those fields with how many records each.
type Drift = (i64, Vec<(String, i64)>);

/// What a stream does with its own types, behind one object-safe interface.
trait StreamOps: Send + Sync {
    fn copy<'a>(&self, run: Run<'a>) -> BoxFuture<'a, Result<()>>;
    fn count_live<'a>(&self, store: &'a Store) -> BoxFuture<'a, Result<i64>>;
    fn raw_records<'a>(&self, store: &'a Store) -> BoxFuture<'a, Result<Vec<(i64, String)>>>;
    fn soft_delete<'a>(
        &self,
        store: &'a Store,
        id: i64,
        version: Option<i64>,
    ) -> BoxFuture<'a, Result<bool>>;
    fn drift<'a>(&self, store: &'a Store) -> BoxFuture<'a, Result<Drift>>;
    fn apply<'a>(
        &self,
        ctx: &'a Context,
        body: &'a [u8],
        deleted: bool,
    ) -> BoxFuture<'a, Result<Applied>>;
    fn delete_hint(&self, body: &[u8]) -> std::result::Result<DeleteHint, String>;
    fn confirm_deleted<'a>(
        &self,
        ctx: &'a Context,
        hints: &'a [DeleteHint],
    ) -> BoxFuture<'a, Result<Vec<Applied>>>;
    fn reconcile<'a>(
        &self,
        ctx: &'a Context,
        options: ReconcileOptions,
        report: &'a mut ReconcileReport,
    ) -> BoxFuture<'a, Result<()>>;
}

/// The operations of the stream of list type `R`.
struct Typed<R>(PhantomData<fn() -> R>);

impl<R: ListResource> StreamOps for Typed<R>
where
    R::Item: Entity,
{
    fn copy<'a>(&self, run: Run<'a>) -> BoxFuture<'a, Result<()>> {
        pipeline::copy::<R>(run).boxed()
    }

    fn count_live<'a>(&self, store: &'a Store) -> BoxFuture<'a, Result<i64>> {
        async move { Ok(store.count_live::<R::Item>().await?) }.boxed()
    }

    fn raw_records<'a>(&self, store: &'a Store) -> BoxFuture<'a, Result<Vec<(i64, String)>>> {
        async move { Ok(store.raw_records::<R::Item>().await?) }.boxed()
    }

    fn soft_delete<'a>(
        &self,
        store: &'a Store,
        id: i64,
        version: Option<i64>,
    ) -> BoxFuture<'a, Result<bool>> {
        async move { Ok(store.soft_delete::<R::Item>(id, version).await?) }.boxed()
    }

    fn drift<'a>(&self, store: &'a Store) -> BoxFuture<'a, Result<Drift>> {
        async move { Ok(store.drift::<R::Item>().await?) }.boxed()
    }

    fn apply<'a>(
        &self,
        ctx: &'a Context,
        body: &'a [u8],
        deleted: bool,
    ) -> BoxFuture<'a, Result<Applied>> {
        apply::apply::<R>(ctx, body, deleted).boxed()
    }

    fn delete_hint(&self, body: &[u8]) -> std::result::Result<DeleteHint, String> {
        apply::delete_hint::<R>(body)
    }

    fn confirm_deleted<'a>(
        &self,
        ctx: &'a Context,
        hints: &'a [DeleteHint],
    ) -> BoxFuture<'a, Result<Vec<Applied>>> {
        apply::confirm_deleted::<R>(ctx, hints).boxed()
    }

    fn reconcile<'a>(
        &self,
        ctx: &'a Context,
        options: ReconcileOptions,
        report: &'a mut ReconcileReport,
    ) -> BoxFuture<'a, Result<()>> {
        reconcile::reconcile::<R>(ctx, options, report).boxed()
    }
}

macro_rules! streams {
    ($($list:ident => $resource:ident),*) => {
        &[$(Stream {
            resource: <salesloft_client::$list as ListResource>::RESOURCE,
            ops: &Typed::<salesloft_client::$list>(PhantomData),
        }),*]
    };
}

/// Every stream, in the client registry's order.
static STREAMS: &[Stream] = salesloft_client::for_each_resource!(streams);

impl Stream {
    /// Every stream, in the order they are synced and shown.
    pub fn all() -> &'static [Stream] {
        STREAMS
    }

    /// The stream named `name` (`-` reads as `_`).
    pub fn named(name: &str) -> Option<Stream> {
        let resource = Resource::named(name)?;
        Self::of(resource)
    }

    /// The stream of `resource`.
    pub fn of(resource: &Resource) -> Option<Stream> {
        STREAMS
            .iter()
            .copied()
            .find(|s| std::ptr::eq(s.resource, resource))
    }

    /// The stream's name in `sync_state` and on the command line.
    pub fn name(self) -> &'static str {
        self.resource.name
    }

    /// The SalesLoft resource it copies.
    pub fn resource(self) -> &'static Resource {
        self.resource
    }

    pub(crate) async fn copy(self, run: Run<'_>) -> Result<()> {
        self.ops.copy(run).await
    }

    /// How many of its records the local copy holds (soft-deleted ones left out).
    pub async fn count_live(self, store: &Store) -> Result<i64> {
        self.ops.count_live(store).await
    }

    /// Every live record of the stream in the local copy, as (id, raw JSON), by id.
    pub async fn raw_records(self, store: &Store) -> Result<Vec<(i64, String)>> {
        self.ops.raw_records(store).await
    }

    /// Mark its record `id` deleted in the local copy (as a `*_deleted` webhook reports, with
    /// the deleted version's `updated_at` in µs when known); whether a live row was marked.
    /// Only a strictly newer version revives it.
    pub async fn soft_delete(
        self,
        store: &Store,
        id: i64,
        version_us: Option<i64>,
    ) -> Result<bool> {
        self.ops.soft_delete(store, id, version_us).await
    }

    /// How many of its live records were stored with drifted fields, and which fields.
    pub async fn drift(self, store: &Store) -> Result<Drift> {
        self.ops.drift(store).await
    }

    /// The stream whose records a webhook of `event_type` carries, and whether the event says
    /// the record was deleted; `None` for event types that carry no synced record.
    pub fn of_event(event_type: &str) -> Option<(Stream, bool)> {
        let (resource, deleted) = Resource::of_event(event_type)?;
        Some((Self::of(resource)?, deleted))
    }

    /// Apply `body`, one of its records as SalesLoft pushed it (a webhook body: the record's
    /// new state, or when `deleted` its last state), to the local copy with the monotonic
    /// upsert: a stale or duplicate delivery changes nothing.
    pub async fn apply_pushed(self, ctx: &Context, body: &[u8], deleted: bool) -> Result<Applied> {
        self.ops.apply(ctx, body, deleted).await
    }

    /// Read `body`, a `*_deleted` delivery, as a hint that one of its records was deleted; or
    /// why it is not one of its records (it lacks the resource's shape, or any id).
    pub fn delete_hint(self, body: &[u8]) -> std::result::Result<DeleteHint, String> {
        self.ops.delete_hint(body)
    }

    /// Confirm delete hints with SalesLoft, at most one `ids[]` list (cost 1) per 100 records
    /// live here (the others are tombstoned at no cost): per hint, in order, what became of it
    /// (`Deleted`, `AlreadyDeleted`, or `NotDeleted` when SalesLoft still lists it).
    pub async fn confirm_deleted(
        self,
        ctx: &Context,
        hints: &[DeleteHint],
    ) -> Result<Vec<Applied>> {
        self.ops.confirm_deleted(ctx, hints).await
    }

    pub(crate) async fn reconcile(
        self,
        ctx: &Context,
        options: ReconcileOptions,
        report: &mut ReconcileReport,
    ) -> Result<()> {
        self.ops.reconcile(ctx, options, report).await
    }
}

impl PartialEq for Stream {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.resource, other.resource)
    }
}

impl Eq for Stream {}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stream({})", self.name())
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Stream {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Stream::named(s).ok_or_else(|| Error::UnknownStream(s.to_owned()))
    }
}

impl Serialize for Stream {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_has_its_stream_and_names_round_trip() {
        assert_eq!(Stream::all().len(), salesloft_client::RESOURCES.len());
        for (s, r) in Stream::all().iter().zip(salesloft_client::RESOURCES) {
            assert!(std::ptr::eq(s.resource(), *r));
            assert_eq!(s.name().parse::<Stream>().unwrap(), *s);
        }
        assert_eq!(
            "cadence-memberships".parse::<Stream>().unwrap().name(),
            "cadence_memberships"
        );
        let err = "nobody".parse::<Stream>().unwrap_err().to_string();
        assert!(err.contains("people") && err.contains("notes"), "{err}");
    }
}
