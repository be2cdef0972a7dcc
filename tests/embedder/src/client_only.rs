//! Step 1: the client alone.

use salesloft_client::{Client, Person};

use crate::Error;

/// The first page of people (25 of them), and the first of them read again by id.
pub async fn first_people(client: &Client) -> Result<(Vec<Person>, Option<Person>), Error> {
    let page = client.people().list().per_page(25).send().await?;
    let again = match page.items.first() {
        Some(first) => Some(client.people().get(first.id).await?),
        None => None,
    };
    Ok((page.items, again))
}
