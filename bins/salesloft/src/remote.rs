//! `me`, `list` and `walk`: reading SalesLoft directly, printing JSON lines. One generic
//! function per command serves every resource of the registry.

use std::future::Future;
use std::pin::Pin;

use futures_util::TryStreamExt;
use salesloft_client::{
    Client, ListResource, Resource, ResourceVisitor, Timestamp, VisitResource, WalkCursor,
};

use crate::error::CliError;

/// `salesloft me`: the authenticated user and their team.
pub async fn me(client: &Client) -> Result<(), CliError> {
    let me = client.me().await?;
    let team = client.team().await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({ "user": me, "team": team }))?
    );
    Ok(())
}

/// What `salesloft list` asks for.
#[derive(Debug, Clone)]
pub struct ListOptions {
    /// Records per page.
    pub per_page: u32,
    /// The page to fetch.
    pub page: u32,
    /// Every page from `page` on.
    pub all: bool,
    /// Only records updated at or after this instant.
    pub updated_since: Option<Timestamp>,
}

type Command = Pin<Box<dyn Future<Output = Result<(), CliError>> + Send>>;

/// `salesloft list RESOURCE`: one page (or every page) as JSON lines.
pub async fn list(
    client: &Client,
    resource: &'static Resource,
    options: ListOptions,
) -> Result<(), CliError> {
    resource
        .visit(List {
            client: client.clone(),
            options,
        })
        .await
}

struct List {
    client: Client,
    options: ListOptions,
}

impl ResourceVisitor for List {
    type Output = Command;
    fn visit<R: ListResource>(self) -> Command {
        Box::pin(async move {
            let opts = self.options;
            let mut request = self
                .client
                .list::<R>()
                .per_page(opts.per_page)
                .page(opts.page);
            if let Some(t) = opts.updated_since {
                request = request.updated_since(t);
            }
            if opts.all {
                let mut items = std::pin::pin!(request.stream());
                while let Some(item) = items.try_next().await? {
                    println!("{}", serde_json::to_string(&item)?);
                }
            } else {
                let page = request.send_received().await?;
                for item in &page.items {
                    // Each record exactly as SalesLoft sent it.
                    println!("{}", item.raw);
                }
                for r in &page.rejected {
                    eprintln!("not a record ({}): {}", r.error, r.raw);
                }
                if let Some(p) = page.paging {
                    eprintln!(
                        "page {} of {}; next page: {:?}",
                        p.current_page.unwrap_or(opts.page),
                        p.total_pages.map_or("?".to_owned(), |t| t.to_string()),
                        p.next_page
                    );
                }
            }
            Ok(())
        })
    }
}

/// `salesloft walk RESOURCE`: every record changed since `cursor` as JSON lines, at cost 1
/// per 100; the cursor to resume from goes to stderr.
pub async fn walk(
    client: &Client,
    resource: &'static Resource,
    cursor: WalkCursor,
    max_pages: u64,
) -> Result<(), CliError> {
    if !resource.walkable() {
        return Err(CliError::Usage(format!(
            "{} cannot be walked: SalesLoft does not filter it by updated_at; use `salesloft list {} --all`",
            resource.name, resource.name
        )));
    }
    resource
        .visit(Walk {
            client: client.clone(),
            cursor,
            max_pages,
        })
        .await
}

struct Walk {
    client: Client,
    cursor: WalkCursor,
    max_pages: u64,
}

impl ResourceVisitor for Walk {
    type Output = Command;
    fn visit<R: ListResource>(self) -> Command {
        Box::pin(async move {
            let mut walk = self.client.list::<R>().walk(self.cursor);
            let mut pages = 0u64;
            let mut records = 0usize;
            while pages < self.max_pages {
                let Some(page) = walk.next_page().await? else {
                    break;
                };
                pages += 1;
                records += page.items.len();
                for item in &page.items {
                    // Each record exactly as SalesLoft sent it.
                    println!("{}", item.raw);
                }
            }
            eprintln!(
                "{records} records in {pages} pages; resume with --cursor '{}'",
                serde_json::to_string(walk.cursor())?
            );
            Ok(())
        })
    }
}
