//! Storage throughput, each figure beside a reference measured in the same run:
//! - people upserted per second into SQLite (a file) and PostgreSQL, in batches of 500 rows
//!   and transactions of 5,000, against a plain multi-row INSERT of the same rows into a bare
//!   table (no version check, no conflict handling);
//! - jobs claimed and completed per second by 4 workers, on each backend.
//!
//! Run: `cargo bench -p salesloft-storage --bench storage`; PostgreSQL runs when
//! SALESLOFT_TEST_DATABASE_URL names a server (a database is created and dropped).
//! BENCH_PEOPLE (default 100000) and BENCH_JOBS (default 20000) set the sizes; BENCH_BACKENDS
//! (default `sqlite,postgres`) picks the engines.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use chrono::FixedOffset;
use salesloft_client::Person;
use salesloft_storage::{Entity, NewJob, Row, Store, Val};
use serde_json::json;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rows(n: usize, offset: FixedOffset) -> Vec<Row> {
    let base = 1_709_797_560_302_715i64;
    (0..n)
        .map(|i| {
            let t = |us: i64| chrono::DateTime::from_timestamp_micros(us).unwrap().with_timezone(&offset).to_rfc3339();
            let p: Person = serde_json::from_value(json!({
                "id": 164_000_000 + i as i64, "created_at": t(base - 86_400_000_000), "updated_at": t(base + i as i64 * 1_000),
                "first_name": "Ada", "last_name": format!("Lovelace {i}"), "email_address": format!("ada{i}@example.com"),
                "title": if i % 2 == 0 { Some("VP of Sales") } else { None }, "phone": null, "city": null,
                "owner": {"_href": "https://api.salesloft.com/v2/users/51550", "id": 51550},
                "account": {"_href": "https://api.salesloft.com/v2/accounts/9", "id": 9 + i % 40},
                "do_not_contact": false, "tags": ["q3"], "custom_fields": {"segment": "enterprise"},
                "counts": {"emails_sent": 3, "emails_viewed": 1, "calls": 0}, "cadences": []
            }))
            .unwrap();
            p.to_row(offset).unwrap()
        })
        .collect()
}

async fn reference_insert(store: &Store, rows: &[Row]) -> Duration {
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
                        // Anonymous placeholders on SQLite, as the store uses (see insert_shape).
                        let numbered = matches!(store, Store::Postgres(_));
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
                        for v in r.key.iter().chain(r.values.iter()) {
                            q = match v {
                                Val::Int(i) => q.bind(*i),
                                Val::Text(t) => q.bind(t.clone()),
                            };
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
    match store {
        Store::Postgres(p) => run!(p),
        Store::Sqlite { writer, .. } => run!(writer),
    }
    started.elapsed()
}

async fn people(name: &str, store: &Store, n: usize) {
    let offset = FixedOffset::west_opt(5 * 3600).unwrap();
    let prepared = rows(n, offset);
    let started = Instant::now();
    for chunk in prepared.chunks(5_000) {
        store
            .upsert_rows(&Person::TABLE, chunk.to_vec())
            .await
            .unwrap();
    }
    let ours = started.elapsed();
    let started = Instant::now();
    for chunk in prepared.chunks(5_000) {
        let s = store
            .upsert_rows(&Person::TABLE, chunk.to_vec())
            .await
            .unwrap();
        assert_eq!(s.unchanged as usize, chunk.len());
    }
    let again = started.elapsed();
    let reference = reference_insert(store, &prepared).await;
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
    let offset = FixedOffset::west_opt(5 * 3600).unwrap();
    let prepared: Vec<Row> = rows(n, offset)
        .into_iter()
        .map(|mut r| {
            r.id += 10_000_000;
            r.key = vec![Val::Int(Some(r.id))];
            r
        })
        .collect();
    let mut state = store.sync_state("bench").await.unwrap();
    let started = Instant::now();
    for page in prepared.chunks(100) {
        let cursor = salesloft_client::WalkCursor {
            updated_at_us: Some(page.last().unwrap().updated_us),
            seen_ids: vec![page.last().unwrap().id],
            page: 1,
            window: None,
        };
        state = store
            .checkpoint(&state, &Person::TABLE, page.to_vec(), &cursor, false)
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
                done += store.complete_all(&claimed).await.unwrap();
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

async fn sqlite_bench(n: usize, n_jobs: usize) {
    let path = std::env::temp_dir().join(format!("salesloft-bench-{}.db", std::process::id()));
    let sqlite = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    people("sqlite  ", &sqlite, n).await;
    checkpoints("sqlite  ", &sqlite, n).await;
    jobs("sqlite  ", &sqlite, n_jobs).await;
    sqlite.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

async fn postgres_bench(admin_url: &str, n: usize, n_jobs: usize) {
    let name = format!("salesloft_bench_{}", std::process::id());
    let Store::Postgres(admin) = Store::connect(admin_url).await.unwrap() else {
        panic!("SALESLOFT_TEST_DATABASE_URL must be a postgres:// URL");
    };
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    let url = format!(
        "{}/{name}",
        admin_url
            .rsplit_once('/')
            .map_or(admin_url, |(base, _)| base)
    );
    let pg = Store::connect(&url).await.unwrap();
    pg.migrate().await.unwrap();
    people("postgres", &pg, n).await;
    checkpoints("postgres", &pg, n).await;
    jobs("postgres", &pg, n_jobs).await;
    pg.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .unwrap();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = env("BENCH_PEOPLE", 100_000);
    let n_jobs = env("BENCH_JOBS", 20_000);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    if backends.contains("sqlite") {
        sqlite_bench(n, n_jobs).await;
    }
    if backends.contains("postgres") {
        // Start on a quiet disk, not behind SQLite's writeback.
        let _ = std::process::Command::new("sync").status();
        match std::env::var("SALESLOFT_TEST_DATABASE_URL") {
            Ok(admin_url) => postgres_bench(&admin_url, n, n_jobs).await,
            Err(_) => println!("SALESLOFT_TEST_DATABASE_URL not set: PostgreSQL not measured"),
        }
    }
}
