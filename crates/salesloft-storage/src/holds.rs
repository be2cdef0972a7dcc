//! Credentials SalesLoft rejected, held for every process (`credential_holds`), and the jobs
//! waiting for them (`jobs.held_by`). [`SharedBudget`](crate::SharedBudget) keeps the holds for
//! the client; the job runner parks a job on a hold with [`Store::hold_job`].

use std::time::Duration;

use salesloft_model::{CredentialHold, HoldCheck};

use crate::error::{Context, Result};
use crate::store::{Store, on_reader, on_writer};

type HoldRow = (String, i64, String, Option<i32>, Option<String>, i64);

const HOLD_COLUMNS: &str = "credential, since_ms, request, status, message, probe_at_ms";

fn hold_of(
    (credential, since_ms, request, status, message, probe_at_ms): HoldRow,
) -> CredentialHold {
    CredentialHold {
        credential,
        since_ms,
        request,
        status: status.and_then(|s| u16::try_from(s).ok()),
        message,
        probe_at_ms,
    }
}

impl Store {
    /// Every credential on hold, oldest first.
    pub async fn credential_holds(&self) -> Result<Vec<CredentialHold>> {
        let rows: Vec<HoldRow> = on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {HOLD_COLUMNS} FROM credential_holds WHERE team_id = $1 \
                 ORDER BY since_ms, credential"
            )))
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("reading credential holds")?
        });
        Ok(rows.into_iter().map(hold_of).collect())
    }

    /// Whether `credential` may send now; a due probe is taken (the next one `probe_every`
    /// later), so one process sends it.
    pub async fn check_credential(
        &self,
        credential: &str,
        probe_every: Duration,
    ) -> Result<HoldCheck> {
        let now = self.now_ms();
        let row: Option<HoldRow> = on_writer!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {HOLD_COLUMNS} FROM credential_holds WHERE team_id = $2 AND credential = $1"
            )))
            .bind(credential)
            .bind(self.tid())
            .fetch_optional(pool)
            .await
            .context("reading a credential hold")?
        });
        let Some(hold) = row.map(hold_of) else {
            return Ok(HoldCheck::Clear);
        };
        if hold.probe_at_ms > now {
            return Ok(HoldCheck::Held(hold));
        }
        let next = now.saturating_add(i64::try_from(probe_every.as_millis()).unwrap_or(i64::MAX));
        let taken = on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE credential_holds SET probe_at_ms = $3 \
                 WHERE team_id = $4 AND credential = $1 AND probe_at_ms <= $2",
            )
            .bind(credential)
            .bind(now)
            .bind(next)
            .bind(self.tid())
            .execute(pool)
            .await
            .context("taking a credential probe")?
            .rows_affected()
        });
        Ok(if taken == 1 {
            HoldCheck::Probe(hold)
        } else {
            HoldCheck::Held(CredentialHold {
                probe_at_ms: next,
                ..hold
            })
        })
    }

    /// Hold `hold.credential` for every process (keeping when it was first held).
    pub async fn hold_credential(&self, hold: &CredentialHold) -> Result<()> {
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO credential_holds (team_id, credential, since_ms, request, status, \
                 message, probe_at_ms) VALUES ($7, $1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (team_id, credential) DO UPDATE SET \
                 request = excluded.request, status = excluded.status, message = excluded.message, \
                 probe_at_ms = excluded.probe_at_ms",
            )
            .bind(&hold.credential)
            .bind(hold.since_ms)
            .bind(&hold.request)
            .bind(hold.status.map(i32::from))
            .bind(&hold.message)
            .bind(hold.probe_at_ms)
            .bind(self.tid())
            .execute(pool)
            .await
            .context("holding a credential")?;
        });
        Ok(())
    }

    /// Lift the hold of `credential` and run the jobs that waited for it at once.
    pub async fn release_credential(&self, credential: &str) -> Result<u64> {
        on_writer!(self, |pool| {
            sqlx::query("DELETE FROM credential_holds WHERE team_id = $2 AND credential = $1")
                .bind(credential)
                .bind(self.tid())
                .execute(pool)
                .await
                .context("lifting a credential hold")?;
        });
        self.release_held_jobs("held_by = $2", credential).await
    }

    /// Lift every hold of the team and run every job of it that waited for one (`salesloft
    /// jobs resume`; new OAuth tokens).
    pub async fn release_all_credentials(&self) -> Result<u64> {
        on_writer!(self, |pool| {
            sqlx::query("DELETE FROM credential_holds WHERE team_id = $1")
                .bind(self.tid())
                .execute(pool)
                .await
                .context("lifting credential holds")?;
        });
        // No credential id is empty: every held job.
        self.release_held_jobs("held_by IS NOT NULL AND held_by <> $2", "")
            .await
    }

    /// A process starting with `credential` (a new key in the configuration) takes over
    /// the team: the holds of its other credentials are dropped (a process still sending with one holds it
    /// again at its next rejection) and the jobs that waited for them run now.
    pub async fn take_over_holds(&self, credential: &str) -> Result<u64> {
        on_writer!(self, |pool| {
            sqlx::query("DELETE FROM credential_holds WHERE team_id = $2 AND credential <> $1")
                .bind(credential)
                .bind(self.tid())
                .execute(pool)
                .await
                .context("dropping the holds of other credentials")?;
        });
        self.release_held_jobs("held_by IS NOT NULL AND held_by <> $2", credential)
            .await
    }

    async fn release_held_jobs(&self, which: &'static str, credential: &str) -> Result<u64> {
        let now = self.now_ms();
        let queues: Vec<(String,)> = on_writer!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE jobs SET held_by = NULL, run_at_ms = $1, updated_at_ms = $1 \
                 WHERE team_id = $3 AND state = 'available' AND {which} RETURNING queue"
            )))
            .bind(now)
            .bind(credential)
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("releasing held jobs")?
        });
        let released = queues.len() as u64;
        let mut queues: Vec<String> = queues.into_iter().map(|(q,)| q).collect();
        queues.sort_unstable();
        queues.dedup();
        for queue in &queues {
            self.wake_runners(queue).await?;
        }
        Ok(released)
    }
}
