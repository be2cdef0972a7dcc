//! Named leases in the database: one holder at a time across every process, lapsing on their
//! own when a holder dies (a crash, a SIGKILL, a lost network) so nobody waits forever.
//!
//! A holder on the same machine that is no longer running does not even make others wait for
//! the lapse: the owner names its machine (hostname and boot id) and process id, and on Linux a
//! process that finds the holder's process gone takes the lease over at once. A restart loop
//! therefore resumes a killed sync immediately.

use std::time::Duration;

use crate::error::{Context, Error, Result};
use crate::store::{Store, on_writer};

/// A lease this process holds on `name` until it lapses at the lease time after the last
/// renewal. Give it back with [`Lease::release`]; dropped, it lapses by itself.
#[derive(Debug, Clone)]
pub struct Lease {
    store: Store,
    name: String,
    owner: String,
    ttl: Duration,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    /// Take the lease `name` for `ttl` if nobody holds it (or the holder's lapsed); `None`
    /// when another holds it.
    pub async fn try_lease(&self, name: &str, ttl: Duration) -> Result<Option<Lease>> {
        let owner = format!("{}:{}", this_process(), uuid::Uuid::new_v4());
        let now = self.now_ms();
        let taken = on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO leases (team_id, name, owner, expires_at_ms) VALUES ($5, $1, $2, $3) \
                 ON CONFLICT (team_id, name) DO UPDATE SET owner = excluded.owner, expires_at_ms = excluded.expires_at_ms \
                 WHERE leases.expires_at_ms <= $4",
            )
            .bind(name)
            .bind(&owner)
            .bind(now.saturating_add(ms(ttl)))
            .bind(now)
            .bind(self.tid())
            .execute(pool)
            .await
            .context("taking a lease")?
            .rows_affected()
        });
        let taken = taken == 1 || self.take_from_dead_holder(name, &owner, ttl).await?;
        Ok(taken.then(|| Lease {
            store: self.clone(),
            name: name.to_owned(),
            owner,
            ttl,
        }))
    }

    /// Take `name` over when its holder is a process of this machine that is gone.
    async fn take_from_dead_holder(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool> {
        let held: Option<(String,)> = on_writer!(self, |pool| {
            sqlx::query_as("SELECT owner FROM leases WHERE team_id = $2 AND name = $1")
                .bind(name)
                .bind(self.tid())
                .fetch_optional(pool)
                .await
                .context("reading a lease")?
        });
        let Some((holder,)) = held else {
            return Ok(false);
        };
        if !holder_is_gone(&holder) {
            return Ok(false);
        }
        let until = self.now_ms().saturating_add(ms(ttl));
        let taken = on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE leases SET owner = $1, expires_at_ms = $2 \
                 WHERE team_id = $5 AND name = $3 AND owner = $4",
            )
            .bind(owner)
            .bind(until)
            .bind(name)
            .bind(&holder)
            .bind(self.tid())
            .execute(pool)
            .await
            .context("taking over a lease")?
            .rows_affected()
        });
        if taken == 1 {
            tracing::debug!(
                lease = name,
                "took over a lease whose holder process is gone"
            );
        }
        Ok(taken == 1)
    }

    /// Take the lease `name` for `ttl`, waiting while another holds it, for at most
    /// `patience`; [`Error::Busy`] after that. `on_wait` is called once if it has to wait.
    pub async fn lease(
        &self,
        name: &str,
        ttl: Duration,
        patience: Duration,
        on_wait: impl FnOnce(),
    ) -> Result<Lease> {
        let deadline = tokio::time::Instant::now() + patience;
        let mut pause = Duration::from_millis(20);
        let mut on_wait = Some(on_wait);
        loop {
            if let Some(lease) = self.try_lease(name, ttl).await? {
                return Ok(lease);
            }
            if tokio::time::Instant::now() + pause > deadline {
                return Err(Error::Busy(format!(
                    "another process held {name:?} for longer than {patience:?}"
                )));
            }
            if let Some(f) = on_wait.take() {
                f();
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }
}

/// `<machine>:<pid>`: the machine is a digest of the hostname and boot id (Linux), so a pid is
/// only ever compared on the machine and boot it belongs to. Elsewhere the machine is unknown
/// and leases only lapse.
fn this_process() -> String {
    format!(
        "{}:{}",
        this_machine().unwrap_or_else(|| "unknown".into()),
        std::process::id()
    )
}

fn this_machine() -> Option<String> {
    use sha2::Digest;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let digest = sha2::Sha256::digest(format!("{}\n{}", host.trim(), boot.trim()));
    Some(hex::encode(&digest[..8]))
}

/// True when `holder` names a process of this machine and boot that no longer runs.
fn holder_is_gone(holder: &str) -> bool {
    let mut parts = holder.split(':');
    let (Some(machine), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Some(here) = this_machine() else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    machine == here
        && pid != std::process::id()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

impl Lease {
    /// What the lease is on.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long the lease lasts after each renewal.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Push the lapse time a lease time ahead; `false` when the lease was lost (it lapsed and
    /// another process took it).
    pub async fn renew(&self) -> Result<bool> {
        let until = self.store.now_ms().saturating_add(ms(self.ttl));
        let renewed = on_writer!(&self.store, |pool| {
            sqlx::query(
                "UPDATE leases SET expires_at_ms = $1 WHERE team_id = $4 AND name = $2 AND owner = $3",
            )
            .bind(until)
            .bind(&self.name)
            .bind(&self.owner)
            .bind(self.store.tid())
                .execute(pool)
                .await
                .context("renewing a lease")?
                .rows_affected()
        });
        Ok(renewed == 1)
    }

    /// Give the lease back (nothing happens if it was lost already).
    pub async fn release(self) -> Result<()> {
        on_writer!(&self.store, |pool| {
            sqlx::query("DELETE FROM leases WHERE team_id = $3 AND name = $1 AND owner = $2")
                .bind(&self.name)
                .bind(&self.owner)
                .bind(self.store.tid())
                .execute(pool)
                .await
                .context("releasing a lease")?;
        });
        Ok(())
    }
}
