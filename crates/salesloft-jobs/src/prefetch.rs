//! [`Prefetch`]: the runner's buffer of claimed jobs waiting for a slot, and the arithmetic
//! of how many to claim.

use std::collections::VecDeque;
use std::time::Duration;

use salesloft_storage::Job;
use tokio::time::Instant;

/// How long prefetched jobs wait for a busy runner's slot before they go back to the queue.
pub(crate) const PREFETCH_HOLD: Duration = Duration::from_millis(200);

/// Claimed jobs waiting for a slot, with when each was claimed: a claim takes up to
/// `concurrency + prefetch` jobs at once, so short jobs do not cost a claim each.
pub(crate) struct Prefetch {
    jobs: VecDeque<(Job, Instant)>,
    concurrency: usize,
    capacity: usize,
}

impl Prefetch {
    /// An empty buffer for `concurrency` slots and `prefetch` jobs more.
    pub(crate) fn new(concurrency: usize, prefetch: usize) -> Self {
        Self {
            jobs: VecDeque::new(),
            concurrency,
            capacity: concurrency.saturating_add(prefetch),
        }
    }

    /// How many jobs to claim with `free` of the slots free: none while at least as many
    /// wait as slots are free, else enough to fill the running and waiting to capacity.
    pub(crate) fn want(&self, free: usize) -> Option<u32> {
        if self.jobs.len() >= free {
            return None;
        }
        let running = self.concurrency.saturating_sub(free);
        let want = self
            .capacity
            .saturating_sub(running.saturating_add(self.jobs.len()));
        Some(u32::try_from(want).unwrap_or(u32::MAX))
    }

    /// How long buffered jobs wait for a busy runner's slot before they go back (forever
    /// when none wait).
    pub(crate) fn hold(&self) -> Duration {
        if self.jobs.is_empty() {
            Duration::MAX
        } else {
            PREFETCH_HOLD
        }
    }

    /// Buffer `jobs`, claimed `at`.
    pub(crate) fn extend(&mut self, jobs: Vec<Job>, at: Instant) {
        self.jobs.extend(jobs.into_iter().map(|j| (j, at)));
    }

    /// The longest-waiting job, with when it was claimed.
    pub(crate) fn pop(&mut self) -> Option<(Job, Instant)> {
        self.jobs.pop_front()
    }

    /// Whether none waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Every waiting job, taken out.
    pub(crate) fn drain(&mut self) -> Vec<Job> {
        self.jobs.drain(..).map(|(job, _)| job).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_claims_to_capacity_and_holds_only_what_waits() {
        // 4 slots, 2 prefetched.
        let buffer = Prefetch::new(4, 2);
        assert_eq!(
            buffer.want(4),
            Some(6),
            "idle: fill every slot and the prefetch"
        );
        assert_eq!(
            buffer.want(1),
            Some(3),
            "3 running: 1 slot and the prefetch"
        );
        assert_eq!(buffer.want(0), None, "no slot free: claim nothing");
        assert_eq!(buffer.hold(), Duration::MAX, "nothing waits: no hold");
    }

    #[test]
    fn waiting_jobs_are_claimed_around() {
        let mut buffer = Prefetch::new(2, 0);
        let job = |id| Job {
            team_id: salesloft_storage::TeamId::DEFAULT,
            id,
            queue: "default".into(),
            kind: "k".into(),
            payload: "{}".into(),
            attempt: 1,
            max_attempts: 3,
            lock_token: "t".into(),
        };
        buffer.extend(vec![job(1)], Instant::now());
        assert_eq!(
            buffer.want(2),
            Some(1),
            "one waits for two free slots: claim one more"
        );
        assert_eq!(buffer.want(1), None, "as many wait as slots are free");
        assert_eq!(buffer.hold(), PREFETCH_HOLD);
        assert_eq!(buffer.drain().len(), 1);
        assert!(buffer.is_empty());
    }
}
