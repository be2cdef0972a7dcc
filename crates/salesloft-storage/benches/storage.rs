//! Storage throughput, each figure beside a reference measured in the same run:
//! - people upserted per second into SQLite (a file) and PostgreSQL, in batches of 500 rows
//!   and transactions of 5,000, against a plain multi-row INSERT of the same rows into a bare
//!   table (no version check, no conflict handling);
//! - jobs claimed and completed per second by 4 workers, on each backend.
//!
//! Run: `cargo bench -p salesloft-storage --bench storage`; PostgreSQL runs on the server
//! SALESLOFT_TEST_DATABASE_URL names, else the local one (a database is created and dropped).
//! BENCH_PEOPLE (default 100000) and BENCH_JOBS (default 20000) set the sizes; BENCH_BACKENDS
//! (default `sqlite,postgres`) picks the engines.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use chrono::FixedOffset;
use salesloft_client::Person;
use salesloft_storage::testing::{RawPool, TestDb, raw_pool};
use salesloft_storage::{NewJob, PreparedRows, Store};
use serde_json::json;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn people_records(n: usize, first_id: i64) -> Vec<Person> {
    let offset = FixedOffset::west_opt(5 * 3600).unwrap();
    let base = 1_709_797_560_302_715i64;
    (0..n)
        .map(|i| {
            let t = |us: i64| chrono::DateTime::from_timestamp_micros(us).unwrap().with_timezone(&offset).to_rfc3339();
            serde_json::from_value::<Person>(json!({
                "id": first_id + i as i64, "created_at": t(base - 86_400_000_000), "updated_at": t(base + i as i64 * 1_000),
                "first_name": "Ada", "last_name": format!("Lovelace {i}"), "email_address": format!("ada{i}@example.com"),
                "title": if i % 2 == 0 { Some("VP of Sales") } else { None }, "phone": null, "city": null,
                "owner": {"_href": "https://api.salesloft.com/v2/users/51550", "id": 51550},
                "account": {"_href": "https://api.salesloft.com/v2/accounts/9", "id": 9 + i % 40},
                "do_not_contact": false, "tags": ["q3"], "custom_fields": {"segment": "enterprise"},
                "counts": {"emails_sent": 3, "emails_viewed": 1, "calls": 0}, "cadences": []
            }))
            .unwrap()
        })
        .collect()
}

/// What the reference INSERT binds for one person: the store's columns, from the record.
struct PlainRow {
    id: i64,
    texts: [Option<String>; 4],
    ints: [Option<i64>; 3],
    created_us: i64,
    updated_us: i64,
    raw: String,
}

fn plain_rows(people: &[Person]) -> Vec<PlainRow> {
    people
        .iter()
        .map(|p| PlainRow {
            id: p.id.0,
            texts: [
                p.email_address.clone(),
                p.first_name.clone(),
                p.last_name.clone(),
                p.title.clone(),
            ],
            ints: [
                p.account.as_ref().map(|r| r.id.0),
                p.owner.as_ref().map(|r| r.id.0),
                Some(i64::from(p.do_not_contact.unwrap_or(false))),
            ],
            created_us: p.created_at.timestamp_micros(),
            updated_us: p.updated_at.timestamp_micros(),
            raw: serde_json::to_string(p).unwrap(),
        })
        .collect()
}

async fn reference_insert(store: &Store, rows: &[PlainRow]) -> Duration {
    let create = "CREATE TABLE people_ref (id BIGINT PRIMARY KEY, email TEXT, first_name TEXT, last_name TEXT, \
        title TEXT, account_id BIGINT, owner_user_id BIGINT, do_not_contact SMALLINT, sl_created_at_us BIGINT, \
        sl_updated_at_us BIGINT, raw TEXT, synced_at_ms BIGINT)";
    let started = Instant::now();
    macro_rules! run {
        ($pool:expr) => {{
            sqlx::query(create).execute($pool).await.unwrap();
            for tx_rows in rows.chunks(5_000) {
                let mut tx = $pool.begin().await.unwrap();
                for chunk in tx_rows.chunks(500) {
                    let mut sql = String::from("INSERT INTO people_ref VALUES ");
                    for i in 0..chunk.len() {
                        if i > 0 {
                            sql.push_str(", ");
                        }
                        let b = i * 12;
                        sql.push('(');
                        // Anonymous placeholders on SQLite, as the store uses.
                        let numbered = matches!(raw_pool(store), RawPool::Postgres(_));
                        sql.push_str(
                            &(1..=12)
                                .map(|c| {
                                    if numbered {
                                        format!("${}", b + c)
                                    } else {
                                        "?".to_owned()
                                    }
                                })
                                .collect::<Vec<_>>()
                                .join(", "),
                        );
                        sql.push(')');
                    }
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for r in chunk {
                        q = q.bind(r.id);
                        for t in &r.texts {
                            q = q.bind(t.clone());
                        }
                        for i in r.ints {
                            q = q.bind(i);
                        }
                        q = q
                            .bind(r.created_us)
                            .bind(r.updated_us)
                            .bind(r.raw.clone())
                            .bind(0i64);
                    }
                    q.execute(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
        }};
    }
    match raw_pool(store) {
        RawPool::Postgres(p) => run!(p),
        RawPool::Sqlite(p) => run!(p),
    }
    started.elapsed()
}

/// Rows of `people` in transactions of 5,000, prepared before the clock starts.
fn prepared(people: &[Person]) -> Vec<PreparedRows<Person>> {
    people
        .chunks(5_000)
        .map(|c| PreparedRows::new(c).unwrap())
        .collect()
}

async fn people(name: &str, store: &Store, n: usize) {
    let records = people_records(n, 164_000_000);
    let batches = prepared(&records);
    let started = Instant::now();
    for batch in batches {
        store.upsert_prepared(batch).await.unwrap();
    }
    let ours = started.elapsed();
    let batches = prepared(&records);
    let started = Instant::now();
    for batch in batches {
        let rows = batch.len();
        let s = store.upsert_prepared(batch).await.unwrap();
        assert_eq!(s.unchanged as usize, rows);
    }
    let again = started.elapsed();
    let reference = reference_insert(store, &plain_rows(&records)).await;
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "{name}: people upsert (new rows)         {:>10.0} rows/s",
        rate(ours)
    );
    println!(
        "{name}: people upsert (already current)  {:>10.0} rows/s",
        rate(again)
    );
    println!(
        "{name}: reference plain INSERT           {:>10.0} rows/s",
        rate(reference)
    );
    println!(
        "{name}: ratio upsert / reference         {:>10.2}",
        reference.as_secs_f64() / ours.as_secs_f64()
    );
}

/// The sync path: pages of 100 rows, each committed with the stream's cursor.
async fn checkpoints(name: &str, store: &Store, n: usize) {
    let records = people_records(n, 174_000_000);
    let pages: Vec<(PreparedRows<Person>, salesloft_client::WalkCursor)> = records
        .chunks(100)
        .map(|page| {
            let last = page.last().unwrap();
            let cursor = salesloft_client::WalkCursor {
                updated_at_us: Some(last.updated_at.timestamp_micros()),
                seen_ids: vec![last.id.0],
                page: 1,
                window: None,
                settled_us: None,
            };
            (PreparedRows::new(page).unwrap(), cursor)
        })
        .collect();
    let mut state = store.sync_state("bench").await.unwrap();
    let started = Instant::now();
    for (page, cursor) in pages {
        state = store
            .checkpoint(&state, page, &cursor, false)
            .await
            .unwrap()
            .state;
    }
    println!(
        "{name}: page checkpoints (100 rows + cursor) {:>10.0} rows/s",
        n as f64 / started.elapsed().as_secs_f64()
    );
}

async fn jobs(name: &str, store: &Store, n: usize) {
    let batch: Vec<NewJob> = (0..n)
        .map(|i| NewJob::new("bench", json!({ "i": i })))
        .collect();
    let started = Instant::now();
    store.enqueue_batch(&batch).await.unwrap();
    let enqueue = started.elapsed();
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut done = 0u64;
            loop {
                let claimed = store
                    .claim(
                        "default",
                        100,
                        &format!("bench-{w}"),
                        Duration::from_secs(60),
                    )
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    return done;
                }
                done += store.complete_all(&claimed).await.unwrap().len() as u64;
            }
        }));
    }
    let mut done = 0;
    for w in workers {
        done += w.await.unwrap();
    }
    assert_eq!(done as usize, n);
    let elapsed = started.elapsed();
    println!(
        "{name}: jobs enqueued (batched)           {:>10.0} jobs/s",
        n as f64 / enqueue.as_secs_f64()
    );
    println!(
        "{name}: jobs claimed and completed        {:>10.0} jobs/s (4 workers, claims of 100)",
        n as f64 / elapsed.as_secs_f64()
    );
}

async fn bench(name: &str, db: TestDb, n: usize, n_jobs: usize) {
    people(name, &db.store, n).await;
    checkpoints(name, &db.store, n).await;
    jobs(name, &db.store, n_jobs).await;
    db.store.close().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = env("BENCH_PEOPLE", 100_000);
    let n_jobs = env("BENCH_JOBS", 20_000);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    if backends.contains("sqlite") {
        bench("sqlite  ", TestDb::sqlite().await.unwrap(), n, n_jobs).await;
    }
    if backends.contains("postgres") {
        // Start on a quiet disk, not behind SQLite's writeback.
        let _ = std::process::Command::new("sync").status();
        bench("postgres", TestDb::postgres().await.unwrap(), n, n_jobs).await;
    }
}
