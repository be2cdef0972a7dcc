//! `salesloft people`: push local people (JSON lines or CSV) with progress and a summary, read
//! the change feed, list the parked records.

use std::io::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};
use salesloft_services::{ChangeCursor, LocalPerson, PeopleSync, PushOptions};
use salesloft_storage::{NewJob, Store};
use serde_json::{Map, Value};

use crate::error::CliError;

/// Records per `people_push` job when pushing through the worker.
const RECORDS_PER_JOB: usize = 500;

/// The records of `file`: CSV when its name ends in `.csv` (a header row of SalesLoft field
/// names), else one JSON object per line. A record without `changed_at` counts as changed
/// when the file was last written.
pub fn read_records(file: &Path) -> Result<Vec<LocalPerson>, CliError> {
    let usage = |e: String| CliError::Usage(format!("{}: {e}", file.display()));
    let written: DateTime<Utc> = std::fs::metadata(file)
        .and_then(|m| m.modified())
        .map(DateTime::<Utc>::from)
        .unwrap_or_else(|_| Utc::now());
    let text = std::fs::read_to_string(file).map_err(|e| usage(e.to_string()))?;
    let objects = if file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        csv_objects(&text).map_err(usage)?
    } else {
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(o)) => out.push((n + 1, o)),
                Ok(_) => return Err(usage(format!("line {}: not a JSON object", n + 1))),
                Err(e) => return Err(usage(format!("line {}: {e}", n + 1))),
            }
        }
        out
    };
    objects
        .into_iter()
        .map(|(line, o)| {
            LocalPerson::from_json(o, written).map_err(|e| usage(format!("line {line}: {e}")))
        })
        .collect()
}

/// A record read from a file, with its line number.
type NumberedObject = (usize, Map<String, Value>);

/// Fields whose CSV text is an integer.
const INTEGER_FIELDS: &[&str] = &[
    "id",
    "account_id",
    "owner_id",
    "person_stage_id",
    "import_id",
];
/// Fields whose CSV text is `true` or `false`.
const BOOLEAN_FIELDS: &[&str] = &["do_not_contact"];
/// Fields whose CSV text is a `;`-separated list.
const LIST_FIELDS: &[&str] = &["tags", "contact_restrictions"];

/// CSV rows as JSON objects (with their line numbers): an empty cell is `null`, the id fields
/// numbers, `do_not_contact` a boolean, `tags` and `contact_restrictions` `;`-separated lists,
/// and a `custom_fields.NAME` column a custom field.
fn csv_objects(text: &str) -> Result<Vec<NumberedObject>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the header row: {e}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut out = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let line = n + 2;
        let row = row.map_err(|e| format!("line {line}: {e}"))?;
        let mut object = Map::new();
        for (field, cell) in header.iter().zip(row.iter()) {
            let value = csv_value(field, cell).map_err(|e| format!("line {line}: {e}"))?;
            match field.strip_prefix("custom_fields.") {
                Some(name) => {
                    let custom = object
                        .entry("custom_fields")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(m) = custom {
                        m.insert(name.to_owned(), value);
                    }
                }
                None => {
                    object.insert(field.clone(), value);
                }
            }
        }
        out.push((line, object));
    }
    Ok(out)
}

fn csv_value(field: &str, cell: &str) -> Result<Value, String> {
    if cell.is_empty() {
        return Ok(Value::Null);
    }
    if INTEGER_FIELDS.contains(&field) {
        return cell
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("{field} is not a number"));
    }
    if BOOLEAN_FIELDS.contains(&field) {
        return match cell.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "0" => Ok(Value::Bool(false)),
            _ => Err(format!("{field} is not true or false")),
        };
    }
    if LIST_FIELDS.contains(&field) {
        return Ok(Value::Array(
            cell.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ));
    }
    Ok(Value::String(cell.to_owned()))
}

/// `people push --file F`: push now, with a progress bar and a summary.
pub async fn push(sync: &PeopleSync, records: &[LocalPerson]) -> Result<(), CliError> {
    let bar = indicatif::ProgressBar::new(records.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} people {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = |done: usize, _: usize| bar.set_position(done as u64);
    let report = sync
        .push(records, &PushOptions::default(), Some(&progress))
        .await?;
    bar.finish_and_clear();
    println!(
        "{} records: {} created, {} updated, {} unchanged, {} parked, {} failed, {} to retry; {} writes{}",
        report.requested,
        report.created.len(),
        report.updated.len(),
        report.unchanged,
        report.parked.len(),
        report.failed.len(),
        report.retryable.len(),
        report.writes,
        if report.recovered > 0 {
            format!(" ({} creates found done after a failure)", report.recovered)
        } else {
            String::new()
        }
    );
    for parked in &report.parked {
        let errors: Vec<String> = parked
            .errors
            .iter()
            .map(|(field, messages)| format!("{field} {}", messages.join(", ")))
            .collect();
        println!("parked: {}: {}", parked.key, errors.join("; "));
    }
    for (key, reason) in report.failed.iter().chain(&report.retryable) {
        println!("failed: {key}: {reason}");
    }
    if report.retryable.is_empty() {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "{} records failed in a way that may pass; run again to retry them (the others cost nothing)",
            report.retryable.len()
        )))
    }
}

/// `people push --file F --enqueue`: hand the records to the worker as `people_push` jobs.
pub async fn enqueue(store: &Store, records: &[LocalPerson]) -> Result<(), CliError> {
    let mut jobs = 0;
    for chunk in records.chunks(RECORDS_PER_JOB) {
        let payload = salesloft_jobs::PushPayload::of(chunk);
        let job: NewJob = salesloft_jobs::Registry::job::<salesloft_jobs::PushJob>(&payload)
            .map_err(|e| CliError::Usage(format!("encoding a push job: {e}")))?;
        store.enqueue(&job).await?;
        jobs += 1;
    }
    println!(
        "{} records queued as {jobs} people_push jobs; `salesloft jobs list` follows them",
        records.len()
    );
    Ok(())
}

/// `people changes --since CURSOR`: the changes as JSON lines on stdout, the cursor to go on
/// from on stderr.
pub async fn changes(sync: &PeopleSync, since: &str, limit: usize) -> Result<(), CliError> {
    let since: ChangeCursor = if since.trim() == "now" {
        sync.head().await?
    } else {
        since.parse().map_err(CliError::Usage)?
    };
    let mut cursor = since;
    let mut printed = 0usize;
    let mut echoes = 0u64;
    let mut out = std::io::stdout().lock();
    loop {
        let batch = sync
            .changes(cursor, (limit - printed).clamp(1, 1_000))
            .await?;
        for change in &batch.changes {
            let line = serde_json::to_string(change)
                .map_err(|e| CliError::Usage(format!("encoding a change: {e}")))?;
            if let Err(e) = writeln!(out, "{line}") {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return Ok(());
                }
                return Err(CliError::Usage(format!("writing: {e}")));
            }
        }
        printed += batch.changes.len();
        echoes += batch.echoes;
        cursor = batch.next;
        if !batch.more || printed >= limit {
            break;
        }
    }
    drop(out);
    eprintln!(
        "{printed} changes ({echoes} echoes of the toolkit's own writes left out); next: salesloft people changes --since {cursor}"
    );
    Ok(())
}

/// `people parked`: the records SalesLoft refused, with its errors.
pub async fn parked(store: &Store) -> Result<(), CliError> {
    let parked = store.parked_writes("people").await?;
    for p in &parked {
        let when = DateTime::from_timestamp_millis(p.parked_at_ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        println!(
            "{}  refused {}x, last {when}: {}",
            p.record_key, p.attempts, p.errors
        );
    }
    println!(
        "{} parked records (fix them and push again; one that goes through leaves this list)",
        parked.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_cells_read_as_the_fields_types() {
        let text = "id,email_address,do_not_contact,tags,title,custom_fields.tier\n12,a@x.com,no,a; b,,gold\n";
        let rows = csv_objects(text).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 2);
        assert_eq!(
            Value::Object(rows[0].1.clone()),
            json!({"id": 12, "email_address": "a@x.com", "do_not_contact": false,
                   "tags": ["a", "b"], "title": null, "custom_fields": {"tier": "gold"}})
        );
        assert!(
            csv_objects("id\nabc\n")
                .unwrap_err()
                .contains("line 2: id is not a number")
        );
    }
}
