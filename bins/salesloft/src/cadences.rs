//! `salesloft cadences`: list and show from the local copy, import a definition, enroll and
//! remove people in bulk with progress and a summary.

use std::path::Path;

use salesloft_client::{CadenceId, CadenceImport, PersonId};
use salesloft_services::{CadenceManager, EnrollOptions, RecordFailure};

use crate::error::CliError;

/// `cadences list`.
pub async fn list(manager: &CadenceManager) -> Result<(), CliError> {
    let cadences = manager.list().await?;
    println!("{:>10}  {:<8} {:<8} name", "id", "team", "archived");
    for c in &cadences {
        println!(
            "{:>10}  {:<8} {:<8} {}",
            c.id,
            if c.team_cadence == Some(true) {
                "yes"
            } else {
                "no"
            },
            if c.archived_at.is_some() { "yes" } else { "no" },
            c.name.as_deref().unwrap_or("")
        );
    }
    println!(
        "{} cadences (from the local copy; `salesloft sync` refreshes it)",
        cadences.len()
    );
    Ok(())
}

/// `cadences show ID`.
pub async fn show(manager: &CadenceManager, id: CadenceId) -> Result<(), CliError> {
    let Some(detail) = manager.show(id).await? else {
        return Err(CliError::Usage(format!(
            "no cadence {id} in the local copy (run `salesloft sync` first?)"
        )));
    };
    println!(
        "cadence {} {:?}: {} people on it, {} steps",
        detail.cadence.id,
        detail.cadence.name.as_deref().unwrap_or(""),
        detail.people_on,
        detail.steps.len()
    );
    for s in &detail.steps {
        println!(
            "  day {:>3}  step {:>2}  {:<12} {}",
            s.day.unwrap_or(0),
            s.step_number.unwrap_or(0),
            s.step_type.as_deref().unwrap_or(""),
            s.display_name
                .as_deref()
                .or(s.name.as_deref())
                .unwrap_or("")
        );
    }
    Ok(())
}

/// `cadences import FILE` (JSON, or TOML when the name ends in `.toml`): the body of
/// `POST /v2/cadence_imports` (`settings`, `sharing_settings`, `cadence_content`).
pub async fn import(manager: &CadenceManager, file: &Path) -> Result<(), CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::Usage(format!("reading {}: {e}", file.display())))?;
    let definition: CadenceImport = if file.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).map_err(|e| {
            CliError::Usage(format!(
                "{} is not a cadence definition: {e}",
                file.display()
            ))
        })?
    } else {
        serde_json::from_str(&text).map_err(|e| {
            CliError::Usage(format!(
                "{} is not a cadence definition: {e}",
                file.display()
            ))
        })?
    };
    let cadence = manager.import(&definition).await?;
    println!(
        "created cadence {} {:?}",
        cadence.id,
        cadence.name.as_deref().unwrap_or("")
    );
    Ok(())
}

/// The people of `--person` and `--people-file` (one id per line; blank lines and `#`
/// comments skipped).
pub fn people(ids: Vec<i64>, file: Option<&Path>) -> Result<Vec<PersonId>, CliError> {
    let mut out: Vec<PersonId> = ids.into_iter().map(PersonId::from).collect();
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| CliError::Usage(format!("reading {}: {e}", file.display())))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let id = line.parse::<i64>().map_err(|_| {
                CliError::Usage(format!("{}:{}: not a person id", file.display(), n + 1))
            })?;
            out.push(PersonId::from(id));
        }
    }
    if out.is_empty() {
        return Err(CliError::Usage(
            "no people: give --person ID (repeatable) or --people-file FILE".into(),
        ));
    }
    Ok(out)
}

fn bar(total: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} people {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// `cadences enroll`.
pub async fn enroll(
    manager: &CadenceManager,
    cadence: CadenceId,
    people: &[PersonId],
    options: &EnrollOptions,
) -> Result<(), CliError> {
    let bar = bar(people.len());
    let progress = |done: usize, _: usize| bar.set_position(done as u64);
    let report = manager
        .enroll(cadence, people, options, Some(&progress))
        .await?;
    bar.finish_and_clear();
    println!(
        "cadence {cadence}: {} enrolled, {} on it already, {} do-not-contact, {} not found, {} failed; {} writes, {} lists",
        report.enrolled.len(),
        report.already_on.len(),
        report.do_not_contact.len(),
        report.not_found.len(),
        report.failed.len(),
        report.writes,
        report.lists
    );
    if !report.do_not_contact.is_empty() {
        println!("do-not-contact: {:?}", report.do_not_contact);
    }
    if !report.not_found.is_empty() {
        println!("not found: {:?}", report.not_found);
    }
    failures(&report.failed, "enrolled")
}

/// `cadences remove`.
pub async fn remove(
    manager: &CadenceManager,
    cadence: CadenceId,
    people: &[PersonId],
) -> Result<(), CliError> {
    let bar = bar(people.len());
    let progress = |done: usize, _: usize| bar.set_position(done as u64);
    let report = manager.remove(cadence, people, Some(&progress)).await?;
    bar.finish_and_clear();
    println!(
        "cadence {cadence}: {} removed, {} not on it, {} failed; {} writes, {} lists",
        report.removed.len(),
        report.not_on.len(),
        report.failed.len(),
        report.writes,
        report.lists
    );
    failures(&report.failed, "removed")
}

/// Print each failed person; an error when there is any.
fn failures(failed: &[(i64, RecordFailure)], verb: &str) -> Result<(), CliError> {
    for (person, reason) in failed {
        println!(
            "failed: person {person}: {}",
            salesloft_config::error_chain(reason)
        );
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "{} people could not be {verb}; run again to retry them",
            failed.len()
        )))
    }
}
