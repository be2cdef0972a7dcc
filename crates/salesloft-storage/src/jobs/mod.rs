//! The durable job queue's primitives. Every write after a claim is fenced by the claim's lock
//! token, so a worker whose lease was reaped cannot overwrite a newer attempt.

use std::time::Duration;

use crate::error::{Context, Error, Result};
use crate::store::{Pools, Store, on_reader, on_writer};

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Queue name (workers claim per queue).
    pub queue: String,
    /// What to do, such as `sync:people`.
    pub kind: String,
    /// Arguments, as JSON.
    pub payload: serde_json::Value,
    /// Lower runs first.
    pub priority: i16,
    /// Attempts before the job is dead.
    pub max_attempts: i32,
    /// Not before this instant (ms since the epoch); `None` is now.
    pub run_at_ms: Option<i64>,
    /// At most one job with this key is pending or running; a second enqueue is a no-op.
    pub unique_key: Option<String>,
    /// Whether the key stays taken while the job runs (`false`: a request arriving during a
    /// run queues a fresh job, for debounced work).
    pub unique_while_running: bool,
}

impl NewJob {
    /// A job of `kind` on the `default` queue, due now.
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            queue: "default".into(),
            kind: kind.into(),
            payload,
            priority: 100,
            max_attempts: 20,
            run_at_ms: None,
            unique_key: None,
            unique_while_running: true,
        }
    }

    /// Make it unique by `key`.
    pub fn unique(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    /// Put it on `queue`.
    pub fn on_queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = queue.into();
        self
    }
}

/// What an enqueue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// A new job.
    Created(i64),
    /// A job with the same unique key is pending or running already; nothing was added.
    Existing(i64),
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Job {
    /// Id.
    pub id: i64,
    /// The team it belongs to (run it with that team's handle and credentials).
    pub team_id: crate::TeamId,
    /// Queue.
    pub queue: String,
    /// Kind.
    pub kind: String,
    /// Arguments (JSON text).
    pub payload: String,
    /// This attempt's number (1 for the first).
    pub attempt: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// The fencing token of this claim: pass it to every later call.
    pub lock_token: String,
}

/// A job's row, for inspection.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobRecord {
    /// Id.
    pub id: i64,
    /// Queue.
    pub queue: String,
    /// Kind.
    pub kind: String,
    /// `available`, `running`, `completed`, `dead` or `cancelled`.
    pub state: String,
    /// Attempts made.
    pub attempt: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// When it may run next.
    pub run_at_ms: i64,
    /// Its unique key, while pending or running.
    pub unique_key: Option<String>,
    /// Arguments (JSON text).
    pub payload: String,
    /// The worker holding it, while running.
    pub locked_by: Option<String>,
    /// The last error.
    pub last_error: Option<String>,
    /// The credential it waits for, while held (SalesLoft rejected it).
    pub held_by: Option<String>,
    /// Every failed attempt's error, oldest first, as stored: a JSON array of
    /// `{"attempt", "at_ms", "error"}` (read it with [`JobRecord::attempt_errors`]).
    pub errors: String,
    /// When it was enqueued.
    pub created_at_ms: i64,
    /// When it last changed.
    pub updated_at_ms: i64,
}

const RECORD_COLUMNS: &str = "id, queue, kind, state, attempt, max_attempts, run_at_ms, unique_key, payload, \
    locked_by, last_error, held_by, errors, created_at_ms, updated_at_ms";

/// One failed attempt of a job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct AttemptError {
    /// The attempt's number (1 for the first).
    pub attempt: i32,
    /// When it failed.
    pub at_ms: i64,
    /// Why.
    pub error: String,
}

impl JobRecord {
    /// Every failed attempt's error, oldest first (empty if the stored list is unreadable).
    pub fn attempt_errors(&self) -> Vec<AttemptError> {
        serde_json::from_str(&self.errors).unwrap_or_default()
    }
}

/// The longest error text kept per attempt, in bytes.
const MAX_ERROR_BYTES: usize = 4_000;

/// `error` cut to [`MAX_ERROR_BYTES`] at a character boundary.
fn bounded_error(error: &str) -> &str {
    if error.len() <= MAX_ERROR_BYTES {
        return error;
    }
    let mut end = MAX_ERROR_BYTES;
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    &error[..end]
}

/// The SQL expression appending attempt `attempt`'s error `$error` at `$at` to `errors`.
macro_rules! append_error {
    (postgres, $error:literal, $at:literal) => {
        concat!(
            "(errors::jsonb || jsonb_build_array(jsonb_build_object('attempt', attempt, 'at_ms', ",
            $at,
            "::bigint, 'error', ",
            $error,
            "::text)))::text"
        )
    };
    (sqlite, $error:literal, $at:literal) => {
        concat!(
            "json_insert(errors, '$[#]', json_object('attempt', attempt, 'at_ms', ",
            $at,
            ", 'error', ",
            $error,
            "))"
        )
    };
}

// After `append_error!`, which they use.
mod inspect;
mod lifecycle;

/// Waits for jobs to be enqueued: in this process through the store's wake-up signal, and on
/// PostgreSQL from any process through `LISTEN salesloft_jobs`.
/// On PostgreSQL it holds one connection of the store's pool until dropped.
pub struct JobWakeups {
    local: tokio::sync::watch::Receiver<u64>,
    listener: Option<sqlx::postgres::PgListener>,
}

impl std::fmt::Debug for JobWakeups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobWakeups")
            .field("listening", &self.listener.is_some())
            .finish()
    }
}

/// The PostgreSQL notification channel an enqueue signals.
pub(crate) const JOBS_CHANNEL: &str = "salesloft_jobs";

/// How many times an enqueue retries when a unique key's holder keeps finishing under it.
const ENQUEUE_ROUNDS: u32 = 32;

impl JobWakeups {
    /// Wait until a job may have been enqueued, or `at_most`; `true` when woken by an enqueue.
    pub async fn wait(&mut self, at_most: Duration) -> bool {
        let local = self.local.changed();
        let remote = async {
            match &mut self.listener {
                Some(l) => l.recv().await.map(|_| ()),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = local => changed.is_ok(),
            got = remote => match got {
                Ok(()) => true,
                Err(e) => {
                    // sqlx reconnects on the next recv; until then polling covers it.
                    tracing::warn!(error = %e, "job notifications interrupted; polling meanwhile");
                    tokio::time::sleep(at_most.min(Duration::from_secs(1))).await;
                    false
                }
            },
            () = tokio::time::sleep(at_most) => false,
        }
    }
}

/// What failing a job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// It will run again at this instant.
    Retrying {
        /// Ms since the epoch.
        run_at_ms: i64,
    },
    /// It has no attempts left (or the error was permanent).
    Dead,
}

const CLAIM_SET: &str = "state = 'running', attempt = attempt + 1, lock_token = $4, locked_by = $5, \
    locked_until_ms = $2 + $6, heartbeat_at_ms = $2, updated_at_ms = $2, held_by = NULL, \
    unique_key = CASE WHEN unique_running = 1 THEN unique_key ELSE NULL END";

const RETURNING: &str = "id, team_id, queue, kind, payload, attempt, max_attempts, lock_token";

/// [`RETURNING`] with each column qualified by `jobs.` (for an `UPDATE ... FROM`).
fn qualified_returning() -> String {
    RETURNING
        .split(", ")
        .map(|c| format!("jobs.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Serialises the claims across teams on PostgreSQL (a transaction-scoped advisory lock), so
/// two claims never together give a team more than its share of running jobs.
const CLAIM_LOCK: i64 = 0x5341_4c45_534c_4a42;

/// PostgreSQL's claim across teams: per active team (a lateral look-up on `jobs_fetch`) its
/// first due jobs up to what it may still run, ranked within the team, then the first `$3`
/// by rank (every team's first job before any team's second: round robin), priority and age.
/// `$7` is the most jobs a team may run at once.
const CLAIM_ACROSS_POSTGRES: &str = "WITH busy AS ( \
       SELECT team_id, COUNT(*) AS n FROM jobs WHERE state = 'running' GROUP BY team_id), \
     ranked AS ( \
       SELECT c.id, c.rank, c.priority, c.run_at_ms FROM teams t \
       CROSS JOIN LATERAL ( \
         SELECT j.id, j.priority, j.run_at_ms, \
           row_number() OVER (ORDER BY j.priority, j.run_at_ms, j.id) AS rank \
         FROM jobs j WHERE j.team_id = t.id AND j.state = 'available' AND j.queue = $1 \
           AND j.run_at_ms <= $2 ORDER BY j.priority, j.run_at_ms, j.id LIMIT $7) c \
       LEFT JOIN busy b ON b.team_id = t.id \
       WHERE t.state = 'active' AND c.rank + COALESCE(b.n, 0) <= $7), \
     picked AS MATERIALIZED ( \
       SELECT id FROM jobs WHERE id IN ( \
         SELECT id FROM ranked ORDER BY rank, priority, run_at_ms, id LIMIT $3) \
       FOR UPDATE SKIP LOCKED) \
     UPDATE jobs SET {CLAIM_SET} FROM picked WHERE jobs.id = picked.id RETURNING {RETURNING}";

/// SQLite's claim across teams: as on PostgreSQL, ranking each active team's due jobs with a
/// window (SQLite has one writer, so claims are serial anyway).
const CLAIM_ACROSS_SQLITE: &str = "UPDATE jobs SET {CLAIM_SET} WHERE id IN ( \
       SELECT id FROM ( \
         SELECT j.id, j.priority, j.run_at_ms, \
           row_number() OVER (PARTITION BY j.team_id ORDER BY j.priority, j.run_at_ms, j.id) AS rank, \
           (SELECT COUNT(*) FROM jobs r WHERE r.team_id = j.team_id AND r.state = 'running') AS busy \
         FROM jobs j JOIN teams t ON t.id = j.team_id AND t.state = 'active' \
         WHERE j.state = 'available' AND j.queue = $1 AND j.run_at_ms <= $2) \
       WHERE rank + busy <= $7 ORDER BY rank, priority, run_at_ms, id LIMIT $3) \
     RETURNING {RETURNING}";

/// A value bound after a fenced statement's id and token.
enum Bind<'a> {
    Int(i64),
    Text(&'a str),
}

/// Backoff before attempt `attempt + 1`: `min(1 h, 2^attempt s)` times a factor in [0.5, 1.5).
pub fn backoff(attempt: i32) -> Duration {
    let secs = 2f64.powi(attempt.clamp(0, 12)).min(3_600.0);
    Duration::from_secs_f64(secs * (0.5 + fastrand::f64()))
}

impl Store {
    /// A waiter for enqueued jobs (see [`JobWakeups`]).
    pub async fn job_wakeups(&self) -> Result<JobWakeups> {
        let mut local = self.jobs_wake.subscribe();
        local.mark_unchanged();
        let listener = match &self.pools {
            Pools::Postgres(pool) => {
                let mut l = sqlx::postgres::PgListener::connect_with(pool)
                    .await
                    .context("listening for jobs")?;
                l.listen(JOBS_CHANNEL).await.context("listening for jobs")?;
                Some(l)
            }
            Pools::Sqlite { .. } => None,
        };
        Ok(JobWakeups { local, listener })
    }

    /// Wake every runner: those of this process at once, and on PostgreSQL those of other
    /// processes through `NOTIFY`.
    pub(crate) async fn wake_runners(&self, queue: &str) -> Result<()> {
        self.jobs_wake.send_modify(|n| *n = n.wrapping_add(1));
        if let Pools::Postgres(pool) = &self.pools {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(JOBS_CHANNEL)
                .bind(queue)
                .execute(pool)
                .await
                .context("notifying job runners")?;
        }
        Ok(())
    }

    /// Add a job (or find the pending one with its unique key; an earlier `run_at` wins).
    pub async fn enqueue(&self, job: &NewJob) -> Result<Enqueued> {
        let enqueued = self.enqueue_row(job).await?;
        self.wake_runners(&job.queue).await?;
        Ok(enqueued)
    }

    async fn enqueue_row(&self, job: &NewJob) -> Result<Enqueued> {
        // Each round that finds the key neither taken nor free saw its holder finish in
        // between: the queue moved on, so trying again makes progress.
        for _ in 0..ENQUEUE_ROUNDS {
            if let Some(enqueued) = self.try_enqueue_row(job).await? {
                return Ok(enqueued);
            }
        }
        Err(Error::Busy(format!(
            "the unique job key {:?} changed hands {ENQUEUE_ROUNDS} times while enqueueing",
            job.unique_key.as_deref().unwrap_or_default()
        )))
    }

    /// One attempt: `None` when the key's holder finished between the insert and the look-up.
    async fn try_enqueue_row(&self, job: &NewJob) -> Result<Option<Enqueued>> {
        let now = self.now_ms();
        let run_at = job.run_at_ms.unwrap_or(now);
        let payload = job.payload.to_string();
        on_writer!(self, |pool| {
            let inserted: Option<(i64,)> = sqlx::query_as(
                "INSERT INTO jobs (team_id, queue, kind, payload, priority, max_attempts, run_at_ms, \
                 unique_key, unique_running, created_at_ms, updated_at_ms) \
                 VALUES ($10, $1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                 ON CONFLICT (team_id, unique_key) WHERE unique_key IS NOT NULL AND state IN ('available', 'running') \
                 DO NOTHING RETURNING id",
            )
            .bind(&job.queue)
            .bind(&job.kind)
            .bind(&payload)
            .bind(job.priority)
            .bind(job.max_attempts)
            .bind(run_at)
            .bind(&job.unique_key)
            .bind(i16::from(job.unique_while_running))
            .bind(now)
            .bind(self.tid())
            .fetch_optional(pool)
            .await
            .context("enqueueing a job")?;
            if let Some((id,)) = inserted {
                return Ok(Some(Enqueued::Created(id)));
            }
            // The key is taken: pull a pending job earlier if asked, and report it.
            sqlx::query(
                "UPDATE jobs SET run_at_ms = $1, updated_at_ms = $2 WHERE team_id = $4 \
                 AND unique_key = $3 AND state = 'available' AND run_at_ms > $1 AND held_by IS NULL",
            )
            .bind(run_at)
            .bind(now)
            .bind(&job.unique_key)
            .bind(self.tid())
            .execute(pool)
            .await
            .context("rescheduling a unique job")?;
            let existing: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM jobs WHERE team_id = $2 AND unique_key = $1 \
                 AND state IN ('available', 'running')",
            )
            .bind(&job.unique_key)
            .bind(self.tid())
            .fetch_optional(pool)
            .await
            .context("finding a unique job")?;
            // None: it finished in between and the key is free again.
            Ok(existing.map(|(id,)| Enqueued::Existing(id)))
        })
    }

    /// Add many jobs without unique keys in one statement per 500; returns how many.
    pub async fn enqueue_batch(&self, jobs: &[NewJob]) -> Result<u64> {
        let now = self.now_ms();
        let mut total = 0;
        for chunk in jobs.chunks(500) {
            let mut sql = String::from(
                "INSERT INTO jobs (team_id, queue, kind, payload, priority, max_attempts, run_at_ms, \
                 unique_key, unique_running, created_at_ms, updated_at_ms) VALUES ",
            );
            let team_mark = chunk.len() * 7 + 1;
            for i in 0..chunk.len() {
                let b = i * 7;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "(${team_mark}, ${}, ${}, ${}, ${}, ${}, ${}, NULL, 1, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 7
                ));
            }
            total += on_writer!(self, |pool| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for j in chunk {
                    q = q
                        .bind(j.queue.clone())
                        .bind(j.kind.clone())
                        .bind(j.payload.to_string())
                        .bind(j.priority)
                        .bind(j.max_attempts)
                        .bind(j.run_at_ms.unwrap_or(now))
                        .bind(now);
                }
                q.bind(self.tid())
                    .execute(pool)
                    .await
                    .context("enqueueing jobs")?
                    .rows_affected()
            });
        }
        let mut queues: Vec<&str> = jobs.iter().map(|j| j.queue.as_str()).collect();
        queues.sort_unstable();
        queues.dedup();
        for queue in queues {
            self.wake_runners(queue).await?;
        }
        Ok(total)
    }

    /// Claim up to `n` due jobs of `queue` for `worker`, leased for `lease`.
    pub async fn claim(
        &self,
        queue: &str,
        n: u32,
        worker: &str,
        lease: Duration,
    ) -> Result<Vec<Job>> {
        let now = self.now_ms();
        let token = uuid::Uuid::new_v4().to_string();
        let lease_ms = lease.as_millis() as i64;
        let mut jobs: Vec<Job> = match &self.pools {
            Pools::Postgres(pool) => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "WITH picked AS MATERIALIZED (SELECT id FROM jobs WHERE state = 'available' \
                 AND team_id = $7 AND queue = $1 AND run_at_ms <= $2 ORDER BY priority, run_at_ms, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 UPDATE jobs SET {CLAIM_SET} FROM picked WHERE jobs.id = picked.id RETURNING {}",
                qualified_returning()
            )))
            .bind(queue)
            .bind(now)
            .bind(i64::from(n))
            .bind(&token)
            .bind(worker)
            .bind(lease_ms)
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("claiming jobs")?,
            Pools::Sqlite { writer, .. } => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE jobs SET {CLAIM_SET} WHERE id IN (SELECT id FROM jobs WHERE state = 'available' \
                 AND team_id = $7 AND queue = $1 AND run_at_ms <= $2 ORDER BY priority, run_at_ms, id LIMIT $3) \
                 RETURNING {RETURNING}"
            )))
            .bind(queue)
            .bind(now)
            .bind(i64::from(n))
            .bind(&token)
            .bind(worker)
            .bind(lease_ms)
            .bind(self.tid())
            .fetch_all(writer)
            .await
            .context("claiming jobs")?,
        };
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }
    /// Claim up to `n` due jobs of `queue` for `worker`, leased for `lease`, across every
    /// active team (paused teams and teams whose credentials were rejected run nothing),
    /// never giving a team more than `max_per_team` running jobs and taking every team's next
    /// job before any team's second (round robin), so a team's due work waits behind another
    /// team's backlog for at most one job. Each job names its team ([`Job::team_id`]).
    pub async fn claim_across_teams(
        &self,
        queue: &str,
        n: u32,
        worker: &str,
        lease: Duration,
        max_per_team: u32,
    ) -> Result<Vec<Job>> {
        let now = self.now_ms();
        let token = uuid::Uuid::new_v4().to_string();
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let sql = match self.backend() {
            crate::Backend::Postgres => {
                CLAIM_ACROSS_POSTGRES.replace("{RETURNING}", &qualified_returning())
            }
            crate::Backend::Sqlite => CLAIM_ACROSS_SQLITE.replace("{RETURNING}", RETURNING),
        }
        .replace("{CLAIM_SET}", CLAIM_SET);
        macro_rules! claim_in {
            ($tx:expr) => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(queue)
                    .bind(now)
                    .bind(i64::from(n))
                    .bind(&token)
                    .bind(worker)
                    .bind(lease_ms)
                    .bind(i64::from(max_per_team.max(1)))
                    .fetch_all(&mut *$tx)
                    .await
                    .context("claiming jobs across teams")?
            };
        }
        let mut jobs: Vec<Job> = match &self.pools {
            Pools::Postgres(pool) => {
                let mut tx = pool.begin().await.context("starting a claim")?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(CLAIM_LOCK)
                    .execute(&mut *tx)
                    .await
                    .context("waiting for the claim lock")?;
                let jobs = claim_in!(tx);
                tx.commit().await.context("committing a claim")?;
                jobs
            }
            Pools::Sqlite { writer, .. } => {
                let mut conn = writer.acquire().await.context("taking the writer")?;
                claim_in!(conn)
            }
        };
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_are_cut_at_a_character_boundary() {
        assert_eq!(bounded_error("short"), "short");
        let long = "é".repeat(MAX_ERROR_BYTES);
        let cut = bounded_error(&long);
        assert!(cut.len() <= MAX_ERROR_BYTES && cut.len() > MAX_ERROR_BYTES - 2);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
