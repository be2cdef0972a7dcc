//! Cadence management and enrollment: cadences read from the local copy, created through
//! `cadence_imports`, and people enrolled in or removed from them in bulk at one write each.
//!
//! Enrolling skips, at no cost, the people the local copy shows on the cadence already and
//! those marked do-not-contact (reported by id); people the local copy does not hold are
//! confirmed with one `ids[]` list per 100 (cost 1), and when the copy's memberships were never
//! synced, the cadence's current members are listed once first. Each write's answer goes into
//! the local copy at once, so a run stopped anywhere and run again writes only what is left.
//! After a failure that may have acted (a 5xx, a dropped connection), the person's
//! membership is looked up (one filtered list) before trying again: nobody is enrolled twice.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use salesloft_client::{
    Cadence, CadenceId, CadenceImport, CadenceMembership, CadenceMembershipId, Enrollment, Person,
    PersonId, StepId, UserId,
};
use serde::Serialize;

use crate::report::RecordFailure;

use crate::apply::stored_record;
use crate::checked_write::{Checked, send_checked};
use crate::context::Context;
use crate::error::{Error, Result};

/// How people are enrolled: the defaults, with a `with_*` setter per field
/// (`EnrollOptions::default().with_step_id(Some(step))`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnrollOptions {
    /// The user to enroll them under (default: the authenticated user).
    pub user_id: Option<UserId>,
    /// The step to start at (default: the first).
    pub step_id: Option<StepId>,
    /// Writes per person before giving up on a failure that may be transient (default 3).
    pub max_attempts: u32,
}

salesloft_client::with_setters!(EnrollOptions {
    with_user_id => user_id: Option<UserId>,
    with_step_id => step_id: Option<StepId>,
    with_max_attempts => max_attempts: u32,
});

impl Default for EnrollOptions {
    fn default() -> Self {
        Self {
            user_id: None,
            step_id: None,
            max_attempts: 3,
        }
    }
}

/// What an enrollment did, person by person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EnrollReport {
    /// People asked for (duplicates counted once).
    pub requested: usize,
    /// Enrolled by this run.
    pub enrolled: Vec<i64>,
    /// On the cadence already: nothing written.
    pub already_on: Vec<i64>,
    /// Marked do-not-contact: nothing written.
    pub do_not_contact: Vec<i64>,
    /// Not people SalesLoft has.
    pub not_found: Vec<i64>,
    /// Refused by SalesLoft or failed for good, with the reason.
    pub failed: Vec<(i64, RecordFailure)>,
    /// Membership writes sent.
    pub writes: u64,
    /// List requests sent to confirm what the local copy could not tell.
    pub lists: u64,
}

/// What a removal did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RemoveReport {
    /// People asked for.
    pub requested: usize,
    /// Removed by this run.
    pub removed: Vec<i64>,
    /// Not on the cadence: nothing written.
    pub not_on: Vec<i64>,
    /// Failed, with the reason.
    pub failed: Vec<(i64, RecordFailure)>,
    /// Deletes sent.
    pub writes: u64,
    /// List requests sent.
    pub lists: u64,
}

/// Progress of a bulk operation: people done so far and in all.
pub type BulkProgress<'a> = &'a (dyn Fn(usize, usize) + Send + Sync);

/// Cadences and their memberships over one [`Context`].
#[derive(Debug, Clone)]
pub struct CadenceManager {
    ctx: Context,
}

/// People per `ids[]` list (SalesLoft's page size).
const IDS_PER_LIST: usize = 100;

impl CadenceManager {
    /// Cadence management through `ctx`.
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// Every live cadence of the local copy, by id.
    pub async fn list(&self) -> Result<Vec<Cadence>> {
        let raw = self.ctx.store.raw_records::<Cadence>().await?;
        raw.iter()
            .map(|(id, raw)| stored_record::<Cadence>("cadences", *id, raw))
            .collect()
    }

    /// The cadence `id` from the local copy, with its steps (by day and step number) and
    /// how many people are on it.
    pub async fn show(&self, id: CadenceId) -> Result<Option<CadenceDetail>> {
        let Some((raw, _)) = self.ctx.store.raw_record::<Cadence>(id.get()).await? else {
            return Ok(None);
        };
        let cadence = stored_record::<Cadence>("cadences", id.get(), &raw)?;
        let mut steps: Vec<salesloft_client::Step> = Vec::new();
        for (step_id, raw) in self
            .ctx
            .store
            .raw_records::<salesloft_client::Step>()
            .await?
        {
            let step = stored_record::<salesloft_client::Step>("steps", step_id, &raw)?;
            if step.cadence.as_ref().map(|c| c.id) == Some(id) {
                steps.push(step);
            }
        }
        steps.sort_by_key(|s| (s.day, s.step_number, s.id));
        let people_on = self
            .ctx
            .store
            .memberships_of_cadence(id.get())
            .await?
            .iter()
            .filter(|(_, _, on)| *on)
            .count();
        Ok(Some(CadenceDetail {
            cadence,
            steps,
            people_on,
        }))
    }

    /// Create a cadence with its steps from `import` (`POST /v2/cadence_imports`) and keep it
    /// (read back, cost 1) in the local copy.
    pub async fn import(&self, import: &CadenceImport) -> Result<Cadence> {
        let id = self.ctx.client.cadences().import(import).await?;
        let cadence = self.ctx.client.cadences().get(id).await?;
        self.ctx
            .store
            .upsert(std::slice::from_ref(&cadence))
            .await?;
        Ok(cadence)
    }

    /// Enroll `people` in `cadence`, skipping those on it already and those marked
    /// do-not-contact; `progress` hears after each person.
    pub async fn enroll(
        &self,
        cadence: CadenceId,
        people: &[PersonId],
        options: &EnrollOptions,
        progress: Option<BulkProgress<'_>>,
    ) -> Result<EnrollReport> {
        let wanted: Vec<i64> = dedup(people);
        let mut report = EnrollReport {
            requested: wanted.len(),
            ..EnrollReport::default()
        };
        let on = self.members(cadence, &mut report.lists).await?;
        let known = self.contactability(&wanted, &mut report.lists).await?;
        let total = wanted.len();
        for (done, person) in wanted.into_iter().enumerate() {
            if on.contains(&person) {
                report.already_on.push(person);
            } else {
                match known.get(&person) {
                    None => report.not_found.push(person),
                    Some(true) => report.do_not_contact.push(person),
                    Some(false) => {
                        self.enroll_one(cadence, person, options, &mut report)
                            .await?
                    }
                }
            }
            if let Some(p) = progress {
                p(done + 1, total);
            }
        }
        Ok(report)
    }

    /// Remove `people` from `cadence` (`DELETE` of each one's membership); people not on it
    /// cost nothing.
    pub async fn remove(
        &self,
        cadence: CadenceId,
        people: &[PersonId],
        progress: Option<BulkProgress<'_>>,
    ) -> Result<RemoveReport> {
        let wanted = dedup(people);
        let mut report = RemoveReport {
            requested: wanted.len(),
            ..RemoveReport::default()
        };
        let mut lists = 0;
        let on: HashMap<i64, i64> = self
            .active_memberships(cadence, &mut lists)
            .await?
            .into_iter()
            .map(|(membership, person)| (person, membership))
            .collect();
        report.lists = lists;
        let total = wanted.len();
        for (done, person) in wanted.into_iter().enumerate() {
            match on.get(&person) {
                None => report.not_on.push(person),
                Some(&membership) => {
                    report.writes += 1;
                    let deleted = self
                        .ctx
                        .client
                        .cadence_memberships()
                        .delete(CadenceMembershipId::from(membership))
                        .await;
                    match deleted {
                        Ok(()) => {
                            // Gone from the cadence; the next sync brings the membership's
                            // new state (a newer version revives the row).
                            self.ctx
                                .store
                                .soft_delete::<CadenceMembership>(membership, None)
                                .await?;
                            report.removed.push(person);
                        }
                        Err(e) => report.failed.push((person, Error::Api(e).into())),
                    }
                }
            }
            if let Some(p) = progress {
                p(done + 1, total);
            }
        }
        Ok(report)
    }

    /// One person's enrollment: write, and after a failure that may have acted, look before
    /// writing again.
    async fn enroll_one(
        &self,
        cadence: CadenceId,
        person: i64,
        options: &EnrollOptions,
        report: &mut EnrollReport,
    ) -> Result<()> {
        let mut enrollment = Enrollment::new(PersonId::from(person), cadence);
        enrollment.user_id = options.user_id;
        enrollment.step_id = options.step_id;
        let memberships = self.ctx.client.cadence_memberships();
        let enrollment = &enrollment;
        let mut lists = 0;
        let (end, writes) = send_checked(
            options.max_attempts,
            || memberships.create(enrollment),
            // A refusal after an uncertain attempt may only say the person is on it already.
            || {
                lists += 1;
                self.membership_now(cadence, person)
            },
        )
        .await?;
        report.writes += writes;
        report.lists += lists;
        match end {
            Checked::Written { value, .. } => {
                self.keep(&value).await?;
                report.enrolled.push(person);
            }
            Checked::NotWritten { error, .. } => {
                let reason = match error.field_errors() {
                    Some(fields) => RecordFailure::Refused(fields.clone()),
                    None => Error::Api(error).into(),
                };
                report.failed.push((person, reason));
            }
        }
        Ok(())
    }

    /// `person`'s membership of `cadence` as SalesLoft has it now, if they are on it (one
    /// filtered list; `None` when that fails too).
    async fn membership_now(&self, cadence: CadenceId, person: i64) -> Option<CadenceMembership> {
        let page = self
            .ctx
            .client
            .cadence_memberships()
            .list()
            .person_id(PersonId::from(person))
            .cadence_id(cadence)
            .send()
            .await
            .ok()?;
        page.items
            .into_iter()
            .find(|m| m.currently_on_cadence == Some(true))
    }

    /// Keep a membership SalesLoft answered with in the local copy.
    async fn keep(&self, membership: &CadenceMembership) -> Result<()> {
        self.ctx
            .store
            .upsert(std::slice::from_ref(membership))
            .await?;
        Ok(())
    }

    /// People on `cadence` now.
    async fn members(&self, cadence: CadenceId, lists: &mut u64) -> Result<BTreeSet<i64>> {
        Ok(self
            .active_memberships(cadence, lists)
            .await?
            .into_iter()
            .map(|(_, person)| person)
            .collect())
    }

    /// (membership, person) of everyone on `cadence`: from the local copy, or, when its
    /// memberships were never synced, listed from SalesLoft (and kept).
    async fn active_memberships(
        &self,
        cadence: CadenceId,
        lists: &mut u64,
    ) -> Result<Vec<(i64, i64)>> {
        let synced = self
            .ctx
            .store
            .sync_state("cadence_memberships")
            .await?
            .backfill_done;
        if !synced {
            let mut page = 1;
            loop {
                *lists += 1;
                let got = self
                    .ctx
                    .client
                    .cadence_memberships()
                    .list()
                    .cadence_id(cadence)
                    .currently_on_cadence(true)
                    .per_page(100)
                    .page(page)
                    .send_received()
                    .await?;
                self.ctx.keep_received(&got.items).await?;
                match got.paging.and_then(|p| p.next_page) {
                    Some(next) if next > page => page = next,
                    _ => break,
                }
            }
        }
        Ok(self
            .ctx
            .store
            .memberships_of_cadence(cadence.get())
            .await?
            .into_iter()
            .filter(|(_, _, on)| *on)
            .map(|(membership, person, _)| (membership, person))
            .collect())
    }

    /// Whether each of `people` is marked do-not-contact: from the local copy, and for those it
    /// does not hold, from one `ids[]` list per 100 (kept). People SalesLoft does not have are
    /// left out.
    async fn contactability(&self, people: &[i64], lists: &mut u64) -> Result<BTreeMap<i64, bool>> {
        let mut known: BTreeMap<i64, bool> = self
            .ctx
            .store
            .people_do_not_contact(people)
            .await?
            .into_iter()
            .collect();
        let unsure: Vec<i64> = people
            .iter()
            .copied()
            .filter(|p| !known.contains_key(p))
            .collect();
        for chunk in unsure.chunks(IDS_PER_LIST) {
            *lists += 1;
            let page = self
                .ctx
                .client
                .people()
                .list()
                .ids(chunk.iter().map(|&id| PersonId::from(id)))
                .per_page(100)
                .send_received()
                .await?;
            self.ctx.keep_received(&page.items).await?;
            for p in &page.items {
                let person: &Person = &p.record;
                known.insert(person.id.get(), person.do_not_contact == Some(true));
            }
        }
        Ok(known)
    }
}

/// A cadence with its steps and how many people are on it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CadenceDetail {
    /// The cadence.
    pub cadence: Cadence,
    /// Its steps, by day and step number.
    pub steps: Vec<salesloft_client::Step>,
    /// People currently on it, by the local copy.
    pub people_on: usize,
}

/// Ids in first-seen order, each once.
fn dedup(people: &[PersonId]) -> Vec<i64> {
    let mut seen = BTreeSet::new();
    people
        .iter()
        .map(|p| p.get())
        .filter(|id| seen.insert(*id))
        .collect()
}
