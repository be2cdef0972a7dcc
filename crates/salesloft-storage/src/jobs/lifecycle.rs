//! A claimed job's life after its claim: heartbeats, completion, failure with backoff, snoozes
//! and holds (each fenced by the claim's lock token), and the reaping and pruning of others.

use super::*;

impl Store {
    /// Run a statement fenced by the job's id and lock token (`$1`, `$2`), binding `$3..` from
    /// `binds`; [`Error::LeaseLost`] when it touched no row.
    async fn fenced(&self, sql: &'static str, job: &Job, binds: &[Bind<'_>]) -> Result<()> {
        self.fenced_on(sql, sql, job, binds).await
    }

    /// [`Store::fenced`] with a statement per engine.
    async fn fenced_on(
        &self,
        postgres: &'static str,
        sqlite: &'static str,
        job: &Job,
        binds: &[Bind<'_>],
    ) -> Result<()> {
        let sql = match &self.pools {
            Pools::Postgres(_) => postgres,
            Pools::Sqlite { .. } => sqlite,
        };
        let affected = on_writer!(self, |pool| {
            let mut q = sqlx::query(sql).bind(job.id).bind(&job.lock_token);
            for b in binds {
                q = match b {
                    Bind::Int(i) => q.bind(*i),
                    Bind::Text(t) => q.bind(*t),
                };
            }
            q.execute(pool)
                .await
                .context("updating a claimed job")?
                .rows_affected()
        });
        if affected == 1 {
            Ok(())
        } else {
            Err(Error::LeaseLost { job_id: job.id })
        }
    }

    /// Extend the lease; [`Error::LeaseLost`] if the job is no longer this claim's.
    pub async fn heartbeat(&self, job: &Job, lease: Duration) -> Result<()> {
        let now = self.now_ms();
        self.fenced(
            "UPDATE jobs SET locked_until_ms = $3, heartbeat_at_ms = $4 \
             WHERE id = $1 AND lock_token = $2 AND state = 'running'",
            job,
            &[Bind::Int(now + lease.as_millis() as i64), Bind::Int(now)],
        )
        .await
    }

    /// Mark the job done.
    pub async fn complete(&self, job: &Job) -> Result<()> {
        self.fenced(
            "UPDATE jobs SET state = 'completed', lock_token = NULL, locked_until_ms = NULL, \
             finalized_at_ms = $3, updated_at_ms = $3 \
             WHERE id = $1 AND lock_token = $2 AND state = 'running'",
            job,
            &[Bind::Int(self.now_ms())],
        )
        .await
    }

    /// Mark many claimed jobs done in one statement per claim; returns the ids that were still
    /// this worker's (the others' leases were lost and are left alone).
    pub async fn complete_all(&self, jobs: &[Job]) -> Result<Vec<i64>> {
        let now = self.now_ms();
        let mut by_token: std::collections::BTreeMap<&str, Vec<i64>> =
            std::collections::BTreeMap::new();
        for j in jobs {
            by_token
                .entry(j.lock_token.as_str())
                .or_default()
                .push(j.id);
        }
        let mut done = Vec::with_capacity(jobs.len());
        const SET: &str = "UPDATE jobs SET state = 'completed', lock_token = NULL, locked_until_ms = NULL, \
             finalized_at_ms = $1, updated_at_ms = $1 WHERE lock_token = $2 AND state = 'running'";
        for (token, ids) in by_token {
            let completed: Vec<(i64,)> = match &self.pools {
                Pools::Postgres(pool) => {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "{SET} AND id = ANY($3) RETURNING id"
                    )))
                    .bind(now)
                    .bind(token)
                    .bind(ids)
                    .fetch_all(pool)
                    .await
                }
                Pools::Sqlite { writer, .. } => {
                    let ids = serde_json::Value::from(ids).to_string();
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "{SET} AND id IN (SELECT value FROM json_each($3)) RETURNING id"
                    )))
                    .bind(now)
                    .bind(token)
                    .bind(ids)
                    .fetch_all(writer)
                    .await
                }
            }
            .context("completing jobs")?;
            done.extend(completed.into_iter().map(|(id,)| id));
        }
        Ok(done)
    }

    /// Record a failure: retry after a backoff, or give up when attempts are spent or
    /// `permanent` is set.
    pub async fn fail(&self, job: &Job, error: &str, permanent: bool) -> Result<Failed> {
        let dead = permanent || job.attempt >= job.max_attempts;
        let now = self.now_ms();
        let run_at = now + backoff(job.attempt).as_millis() as i64;
        macro_rules! fail_sql {
            ($engine:ident, $state:literal, $finalized:literal) => {
                concat!(
                    "UPDATE jobs SET state = '",
                    $state,
                    "', last_error = $4, errors = ",
                    append_error!($engine, "$4", "$5"),
                    ", lock_token = NULL, locked_until_ms = NULL, ",
                    $finalized,
                    "updated_at_ms = $5, run_at_ms = $3 \
                     WHERE id = $1 AND lock_token = $2 AND state = 'running'"
                )
            };
        }
        let (postgres, sqlite) = if dead {
            (
                fail_sql!(postgres, "dead", "finalized_at_ms = $5, "),
                fail_sql!(sqlite, "dead", "finalized_at_ms = $5, "),
            )
        } else {
            (
                fail_sql!(postgres, "available", ""),
                fail_sql!(sqlite, "available", ""),
            )
        };
        let error = bounded_error(error);
        self.fenced_on(
            postgres,
            sqlite,
            job,
            &[Bind::Int(run_at), Bind::Text(error), Bind::Int(now)],
        )
        .await?;
        Ok(if dead {
            Failed::Dead
        } else {
            Failed::Retrying { run_at_ms: run_at }
        })
    }

    /// Put the job back without spending an attempt (rate-limited, shutting down), due after
    /// `delay`.
    pub async fn snooze(&self, job: &Job, delay: Duration) -> Result<()> {
        let now = self.now_ms();
        self.fenced(
            "UPDATE jobs SET state = 'available', attempt = attempt - 1, run_at_ms = $3, lock_token = NULL, \
             locked_until_ms = NULL, updated_at_ms = $4 \
             WHERE id = $1 AND lock_token = $2 AND state = 'running'",
            job,
            &[Bind::Int(now + delay.as_millis() as i64), Bind::Int(now)],
        )
        .await
    }

    /// Put the job back to wait for the credentials `held_by` (no attempt spent): due at
    /// `until_ms` (the hold's next probe), never pulled earlier by an enqueue of its unique
    /// key, and run at once when the hold is lifted ([`Store::release_credential`]).
    pub async fn hold_job(
        &self,
        job: &Job,
        held_by: &str,
        until_ms: i64,
        error: &str,
    ) -> Result<()> {
        let now = self.now_ms();
        self.fenced(
            "UPDATE jobs SET state = 'available', attempt = attempt - 1, run_at_ms = $3, held_by = $4, \
             last_error = $5, lock_token = NULL, locked_until_ms = NULL, updated_at_ms = $6 \
             WHERE id = $1 AND lock_token = $2 AND state = 'running'",
            job,
            &[
                Bind::Int(until_ms.max(now)),
                Bind::Text(held_by),
                Bind::Text(bounded_error(error)),
                Bind::Int(now),
            ],
        )
        .await
    }

    /// Return jobs whose lease expired to the queue (or to `dead` when out of attempts).
    /// Concurrent reapers are harmless.
    pub async fn reap_expired(&self) -> Result<u64> {
        let now = self.now_ms();
        macro_rules! reap_sql {
            ($engine:ident) => {
                concat!(
                    "UPDATE jobs SET state = CASE WHEN attempt >= max_attempts THEN 'dead' ELSE 'available' END, \
                     lock_token = NULL, locked_until_ms = NULL, run_at_ms = $1, last_error = 'lease expired', \
                     errors = ",
                    append_error!($engine, "'lease expired'", "$1"),
                    ", updated_at_ms = $1, \
                     finalized_at_ms = CASE WHEN attempt >= max_attempts THEN $1 ELSE NULL END \
                     WHERE state = 'running' AND locked_until_ms < $1"
                )
            };
        }
        let sql = match &self.pools {
            Pools::Postgres(_) => reap_sql!(postgres),
            Pools::Sqlite { .. } => reap_sql!(sqlite),
        };
        on_writer!(self, |pool| {
            Ok(sqlx::query(sql)
                .bind(now)
                .execute(pool)
                .await
                .context("reaping expired leases")?
                .rows_affected())
        })
    }

    /// Delete completed and cancelled jobs finished before `completed_before_ms`, and dead ones
    /// finished before `dead_before_ms`, in batches.
    pub async fn prune_jobs(&self, completed_before_ms: i64, dead_before_ms: i64) -> Result<u64> {
        let mut total = 0;
        loop {
            let n = on_writer!(self, |pool| {
                sqlx::query(
                    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE \
                     (state IN ('completed', 'cancelled') AND finalized_at_ms < $1) OR \
                     (state = 'dead' AND finalized_at_ms < $2) LIMIT 1000)",
                )
                .bind(completed_before_ms)
                .bind(dead_before_ms)
                .execute(pool)
                .await
                .context("pruning jobs")?
                .rows_affected()
            });
            total += n;
            if n < 1000 {
                return Ok(total);
            }
        }
    }
}
