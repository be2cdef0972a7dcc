//! Reading and steering the queue: a job, a page of jobs, retrying or cancelling one, counts.

use super::*;

impl Store {
    /// One job's row.
    pub async fn job(&self, id: i64) -> Result<Option<JobRecord>> {
        on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {RECORD_COLUMNS} FROM jobs WHERE team_id = $2 AND id = $1"
            )))
            .bind(id)
            .bind(self.tid())
            .fetch_optional(pool)
            .await
            .context("reading a job")
        })
    }

    /// Jobs, newest first, optionally only those in `state` and of `kind`, at most `limit`.
    pub async fn jobs(
        &self,
        state: Option<&str>,
        kind: Option<&str>,
        limit: u32,
    ) -> Result<Vec<JobRecord>> {
        on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {RECORD_COLUMNS} FROM jobs WHERE team_id = $4 AND ($1 IS NULL OR state = $1) \
                 AND ($2 IS NULL OR kind = $2) ORDER BY id DESC LIMIT $3"
            )))
            .bind(state)
            .bind(kind)
            .bind(i64::from(limit))
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("listing jobs")
        })
    }

    /// Run a dead or cancelled job again now, with its attempts reset; `false` when it is not
    /// dead or cancelled. Refused (a conflict) while another job with its unique key is pending.
    pub async fn retry_job(&self, id: i64) -> Result<bool> {
        let now = self.now_ms();
        let queue: Option<(String,)> = on_writer!(self, |pool| {
            sqlx::query_as(
                "UPDATE jobs SET state = 'available', attempt = 0, run_at_ms = $2, lock_token = NULL, \
                 locked_until_ms = NULL, finalized_at_ms = NULL, updated_at_ms = $2 \
                 WHERE team_id = $3 AND id = $1 AND state IN ('dead', 'cancelled') RETURNING queue",
            )
            .bind(id)
            .bind(now)
            .bind(self.tid())
            .fetch_optional(pool)
            .await
            .context("retrying a job")?
        });
        match queue {
            Some((queue,)) => {
                self.wake_runners(&queue).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Cancel a pending or running job; `false` when it had finished. A running job's worker
    /// finds its lease gone at its next heartbeat, stops it and writes nothing more.
    pub async fn cancel_job(&self, id: i64) -> Result<bool> {
        let now = self.now_ms();
        let n = on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = 'cancelled', lock_token = NULL, locked_until_ms = NULL, \
                 finalized_at_ms = $2, updated_at_ms = $2, last_error = COALESCE(last_error, 'cancelled') \
                 WHERE team_id = $3 AND id = $1 AND state IN ('available', 'running')",
            )
            .bind(id)
            .bind(now)
            .bind(self.tid())
            .execute(pool)
            .await
            .context("cancelling a job")?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Jobs per kind and state, for metrics and the status page.
    pub async fn job_counts_by_kind(&self) -> Result<Vec<(String, String, i64)>> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT kind, state, COUNT(*) FROM jobs WHERE team_id = $1 \
                 GROUP BY kind, state ORDER BY kind, state",
            )
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("counting jobs")
        })
    }

    /// Jobs per state.
    pub async fn job_counts(&self) -> Result<Vec<(String, i64)>> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT state, COUNT(*) FROM jobs WHERE team_id = $1 GROUP BY state ORDER BY state",
            )
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("counting jobs")
        })
    }
}
