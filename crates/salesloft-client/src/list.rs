//! List requests: typed filters, one [`Page`] at a time, or a stream over every item.

use std::marker::PhantomData;

use chrono::Utc;
use futures_core::Stream;
use futures_util::{StreamExt, TryStreamExt, stream};
use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::models::{Record, Timestamp};
use crate::resource::Resource;
use crate::wire::{Page, Received};

/// Sort direction. SalesLoft's default is descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDirection {
    /// Oldest or smallest first.
    Asc,
    /// Newest or largest first.
    Desc,
}

impl SortDirection {
    fn as_str(self) -> &'static str {
        match self {
            SortDirection::Asc => "ASC",
            SortDirection::Desc => "DESC",
        }
    }
}

/// Comparison for a range filter such as `updated_at[gte]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// Strictly after.
    Gt,
    /// At or after.
    Gte,
    /// Strictly before.
    Lt,
    /// At or before.
    Lte,
}

impl Cmp {
    fn as_str(self) -> &'static str {
        match self {
            Cmp::Gt => "gt",
            Cmp::Gte => "gte",
            Cmp::Lt => "lt",
            Cmp::Lte => "lte",
        }
    }
}

/// A field a list can be sorted by.
pub trait SortField: Copy {
    /// The `sort_by` value.
    fn as_str(self) -> &'static str;
}

/// A listable SalesLoft resource: its path, item type and sort fields.
pub trait ListResource: 'static {
    /// The record type.
    type Item: Record + DeserializeOwned + serde::Serialize + Send + 'static;
    /// The record's id type.
    type Id: Into<i64>;
    /// The fields the list can be sorted by.
    type Sort: SortField;
    /// What the resource is: its name, path, webhook events and whether it can be walked.
    const RESOURCE: &'static Resource;
}

/// Marker: the resource's list accepts `created_at[...]` filters.
pub trait FilterCreatedAt: ListResource {}

/// Formats an instant the way list filters take it: UTC with microseconds.
pub fn format_filter_time(t: &Timestamp) -> String {
    t.with_timezone(&Utc)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// A list request being built. Send it for one page, or stream every item.
///
/// ```no_run
/// # async fn demo(client: salesloft_client::Client) -> salesloft_client::Result<()> {
/// use futures_util::TryStreamExt;
/// use salesloft_client::{PersonSort, SortDirection};
/// let page = client
///     .people()
///     .list()
///     .email_addresses(["ada@example.com"])
///     .sort_by(PersonSort::UpdatedAt)
///     .sort_direction(SortDirection::Asc)
///     .per_page(100)
///     .send()
///     .await?;
/// let everyone: Vec<_> = client.people().list().per_page(100).stream().try_collect().await?;
/// # Ok(()) }
/// ```
pub struct ListRequest<R: ListResource> {
    pub(crate) client: Client,
    pub(crate) filters: Vec<(String, String)>,
    pub(crate) per_page: Option<u32>,
    pub(crate) page: Option<u32>,
    pub(crate) sort_by: Option<&'static str>,
    pub(crate) sort_direction: Option<SortDirection>,
    pub(crate) include_paging_counts: bool,
    _resource: PhantomData<fn() -> R>,
}

impl<R: ListResource> Clone for ListRequest<R> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            filters: self.filters.clone(),
            per_page: self.per_page,
            page: self.page,
            sort_by: self.sort_by,
            sort_direction: self.sort_direction,
            include_paging_counts: self.include_paging_counts,
            _resource: PhantomData,
        }
    }
}

impl<R: ListResource> std::fmt::Debug for ListRequest<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListRequest")
            .field("path", &R::RESOURCE.path)
            .field("filters", &self.filters)
            .field("per_page", &self.per_page)
            .field("page", &self.page)
            .field("sort_by", &self.sort_by)
            .field("sort_direction", &self.sort_direction)
            .finish()
    }
}

impl<R: ListResource> ListRequest<R> {
    /// A request with the resource's own [`list_params`](crate::Resource::list_params).
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            filters: R::RESOURCE
                .list_params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            per_page: None,
            page: None,
            sort_by: None,
            sort_direction: None,
            include_paging_counts: false,
            _resource: PhantomData,
        }
    }

    /// Only these records (`ids[]`); unknown ids are silently left out by the server.
    pub fn ids<I>(self, ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<R::Id>,
    {
        self.filter_array("ids", ids.into_iter().map(|i| Into::<i64>::into(i.into())))
    }

    /// Records whose `updated_at` compares to `t` by `cmp`; combine two for a window.
    pub fn updated_at(self, cmp: Cmp, t: Timestamp) -> Self {
        self.range("updated_at", cmp, &t)
    }

    /// Records updated at or after `t` (`updated_at[gte]`).
    pub fn updated_since(self, t: Timestamp) -> Self {
        self.updated_at(Cmp::Gte, t)
    }

    /// Sort by `field`.
    pub fn sort_by(mut self, field: R::Sort) -> Self {
        self.sort_by = Some(field.as_str());
        self
    }

    /// Sort in `direction` (SalesLoft's default is descending).
    pub fn sort_direction(mut self, direction: SortDirection) -> Self {
        self.sort_direction = Some(direction);
        self
    }

    /// Records per page, 1 to 100 (SalesLoft's default is 25).
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = Some(per_page);
        self
    }

    /// The page to fetch (1-based). Pages past 100 cost more; see [`crate::page_cost`].
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// Ask for `total_pages` and `total_count` in the paging metadata.
    pub fn include_paging_counts(mut self, include: bool) -> Self {
        self.include_paging_counts = include;
        self
    }

    /// Any other filter, sent as `name=value`.
    pub fn filter(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.filters.push((name.into(), value.to_string()));
        self
    }

    /// Any other array filter, sent as `name[]=v1&name[]=v2`.
    pub fn filter_array<V: ToString>(
        mut self,
        name: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let key = format!("{name}[]");
        for v in values {
            self.filters.push((key.clone(), v.to_string()));
        }
        self
    }

    pub(crate) fn range(mut self, field: &str, cmp: Cmp, t: &Timestamp) -> Self {
        self.filters
            .push((format!("{field}[{}]", cmp.as_str()), format_filter_time(t)));
        self
    }

    pub(crate) fn to_request(&self, page: Option<u32>) -> Result<Request> {
        let mut query = self.filters.clone();
        if let Some(pp) = self.per_page {
            if !(1..=100).contains(&pp) {
                return Err(Error::InvalidArgument(format!(
                    "per_page must be 1..=100, got {pp}"
                )));
            }
            query.push(("per_page".into(), pp.to_string()));
        }
        if let Some(p) = page {
            if p == 0 {
                return Err(Error::InvalidArgument("page is 1-based".into()));
            }
            query.push(("page".into(), p.to_string()));
        }
        if let Some(s) = self.sort_by {
            query.push(("sort_by".into(), s.to_owned()));
        }
        if let Some(d) = self.sort_direction {
            query.push(("sort_direction".into(), d.as_str().to_owned()));
        }
        if self.include_paging_counts {
            query.push(("include_paging_counts".into(), "true".into()));
        }
        let mut req =
            Request::new(Method::GET, R::RESOURCE.path, R::RESOURCE.list_endpoint).query(query);
        req.page = page;
        Ok(req)
    }

    /// Fetch the one page this request describes. Items that are not records are in
    /// [`Page::rejected`]; fields with unexpected types are left empty (see
    /// [`send_received`](Self::send_received) to learn which, with each record's JSON as sent).
    pub async fn send(&self) -> Result<Page<R::Item>> {
        self.send_received().await.map(Page::into_records)
    }

    /// Fetch the one page this request describes, each record with its JSON text as received
    /// and the fields that had unexpected types.
    pub async fn send_received(&self) -> Result<Page<Received<R::Item>>> {
        let req = self.to_request(self.page)?;
        self.client.get_page(&req).await
    }

    /// Every page from `page` (default 1) on, following `next_page` until the server says
    /// there is no more. Pages always carry an explicit `page`, so lists that are only paged
    /// when asked (users) are paged too. Deep pages cost more: for large lists prefer
    /// [`ListRequest::walk`].
    pub fn pages(self) -> impl Stream<Item = Result<Page<R::Item>>> + Send + 'static {
        let first = self.page.unwrap_or(1);
        stream::try_unfold(Some(first), move |state| {
            let this = self.clone();
            async move {
                let Some(page) = state else {
                    return Ok(None);
                };
                let req = this.to_request(Some(page))?;
                let p = this.client.get_page::<R::Item>(&req).await?.into_records();
                // Never loop: stop when there is no next page, it does not move forward,
                // or the page came back empty.
                let next = p.next_page().filter(|n| *n > page && p.sent() > 0);
                Ok(Some((p, next)))
            }
        })
    }

    /// Every item of every page, one at a time.
    pub fn stream(self) -> impl Stream<Item = Result<R::Item>> + Send + 'static {
        self.pages()
            .map_ok(|p| stream::iter(p.items.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

impl<R: FilterCreatedAt> ListRequest<R> {
    /// Records whose `created_at` compares to `t` by `cmp`.
    pub fn created_at(self, cmp: Cmp, t: Timestamp) -> Self {
        self.range("created_at", cmp, &t)
    }
}

/// Declares a sort-field enum.
macro_rules! sort_fields {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $s:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant),*
        }
        impl $crate::list::SortField for $name {
            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $s),*
                }
            }
        }
    };
}
pub(crate) use sort_fields;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_times_are_utc_with_microseconds() {
        let t: Timestamp =
            chrono::DateTime::parse_from_rfc3339("2024-03-07T02:46:00.302715-05:00").unwrap();
        assert_eq!(format_filter_time(&t), "2024-03-07T07:46:00.302715Z");
        let whole: Timestamp =
            chrono::DateTime::parse_from_rfc3339("2024-03-07T02:46:00+01:00").unwrap();
        assert_eq!(format_filter_time(&whole), "2024-03-07T01:46:00.000000Z");
    }
}
