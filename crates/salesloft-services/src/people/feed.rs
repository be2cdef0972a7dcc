//! The feed: what changed in SalesLoft since a caller's cursor, in commit order, the
//! toolkit's own writes left out.

use super::push::content_hash;
use super::*;

/// How a person changed in the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// First seen after the cursor.
    Added,
    /// Changed after the cursor (treat as an upsert: a person added and changed since is
    /// reported once, as added).
    Updated,
    /// Deleted in SalesLoft.
    Deleted,
}

/// One person's change in the feed. Its `Debug` leaves the person's fields out.
#[derive(Clone, PartialEq, Serialize)]
pub struct PersonChange {
    /// How it changed.
    pub kind: ChangeKind,
    /// The person.
    pub id: i64,
    /// Its JSON as SalesLoft sent it (`None` for a deletion of a person never stored).
    pub person: Option<Value>,
    /// Its `updated_at`.
    pub updated_at: Option<DateTime<Utc>>,
    /// The cursor just past this change.
    pub cursor: ChangeCursor,
}

impl fmt::Debug for PersonChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonChange")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("updated_at", &self.updated_at)
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

/// A place in the people change feed; its text form (`start`, or `<position>.<id>`) is what
/// callers keep between reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangeCursor(pub FeedPosition);

impl ChangeCursor {
    /// Before every change.
    pub const START: ChangeCursor = ChangeCursor(FeedPosition::START);
}

impl fmt::Display for ChangeCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::START {
            f.write_str("start")
        } else {
            write!(f, "{}.{}", self.0.seq, self.0.id)
        }
    }
}

impl FromStr for ChangeCursor {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim();
        if s.is_empty() || s == "start" || s == "0" {
            return Ok(Self::START);
        }
        let bad = || format!("{s:?} is not a change cursor (`start` or `<position>.<id>`)");
        let (seq, id) = s.split_once('.').ok_or_else(bad)?;
        Ok(Self(FeedPosition {
            seq: seq.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        }))
    }
}

impl Serialize for ChangeCursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One read of the feed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeBatch {
    /// The changes, in order.
    pub changes: Vec<PersonChange>,
    /// Where to read on from (past the echoes skipped too).
    pub next: ChangeCursor,
    /// Echoes of the toolkit's own writes left out.
    pub echoes: u64,
    /// Whether more changes were there already (read again at once).
    pub more: bool,
}

impl PeopleSync {
    /// Up to `limit` people changed in SalesLoft after `since`, echoes of the toolkit's own
    /// writes left out.
    pub async fn changes(&self, since: ChangeCursor, limit: usize) -> Result<ChangeBatch> {
        let limit = limit.max(1);
        let page = i64::try_from(limit).unwrap_or(i64::MAX).min(1_000);
        let mut batch = ChangeBatch {
            changes: Vec::new(),
            next: since,
            echoes: 0,
            more: false,
        };
        loop {
            let rows = self
                .ctx
                .store
                .changes_since::<Person>(batch.next.0, page)
                .await?;
            let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= page;
            for row in rows {
                if batch.changes.len() == limit {
                    batch.more = true;
                    return Ok(batch);
                }
                batch.next = ChangeCursor(row.position);
                if is_echo(&row) {
                    batch.echoes += 1;
                    continue;
                }
                batch.changes.push(change_of(row, since));
            }
            if !full {
                return Ok(batch);
            }
            if batch.changes.len() == limit {
                batch.more = true;
                return Ok(batch);
            }
        }
    }

    /// The cursor just past the newest change: where a caller that has everything starts.
    pub async fn head(&self) -> Result<ChangeCursor> {
        Ok(ChangeCursor(self.ctx.store.feed_head::<Person>().await?))
    }
}

/// Whether a feed row is the toolkit's own write coming back: the version it answered with,
/// or the same content.
fn is_echo(row: &ChangedRow) -> bool {
    let Some(own) = &row.own_write else {
        return false;
    };
    if row.deleted {
        return false;
    }
    if own.version_us == row.version_us {
        return true;
    }
    stored_record::<Person>(STREAM, row.position.id, &row.raw)
        .ok()
        .and_then(|p| content_hash(&p).ok())
        .is_some_and(|h| h == own.content_hash)
}

/// The change a feed row reports to a reader at `since`.
fn change_of(row: ChangedRow, since: ChangeCursor) -> PersonChange {
    let first = FeedPosition {
        seq: row.first_seq,
        id: row.position.id,
    };
    let kind = if row.deleted {
        ChangeKind::Deleted
    } else if first > since.0 {
        ChangeKind::Added
    } else {
        ChangeKind::Updated
    };
    let person = (!row.raw.is_empty())
        .then(|| serde_json::from_str::<Value>(&row.raw).ok())
        .flatten();
    PersonChange {
        kind,
        id: row.position.id,
        person,
        updated_at: DateTime::from_timestamp_micros(row.version_us),
        cursor: ChangeCursor(row.position),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_it_prints() {
        for c in [
            ChangeCursor::START,
            ChangeCursor(FeedPosition { seq: 0, id: 5 }),
            ChangeCursor(FeedPosition { seq: 42, id: 7 }),
        ] {
            assert_eq!(c.to_string().parse::<ChangeCursor>().unwrap(), c);
        }
        assert_eq!("".parse::<ChangeCursor>().unwrap(), ChangeCursor::START);
        assert!("12".parse::<ChangeCursor>().is_err());
        assert!("a.b".parse::<ChangeCursor>().is_err());
    }
}
