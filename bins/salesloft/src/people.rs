//! `salesloft people`: push local people (JSON lines or CSV) with progress and a summary, read
//! the change feed, list the parked records.

use std::io::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};
use salesloft_services::{ChangeCursor, LocalPerson, PeopleSync, PushOptions, RecordFailure};
use salesloft_storage::{NewJob, Store};
use serde_json::{Map, Value};

use crate::error::CliError;

/// Records per `people_push` job when pushing through the worker.
const RECORDS_PER_JOB: usize = 500;

/// The records of `file`: CSV when its name ends in `.csv` (a header row of SalesLoft field
/// names), else one JSON object per line. A record without `changed_at` counts as changed
/// when the file was last written. Any record that cannot be read (its place named: the line,
/// or the CSV record and the line it starts on) refuses the whole file before anything is
/// written.
pub fn read_records(file: &Path) -> Result<Vec<LocalPerson>, CliError> {
    let refused =
        |e: String| CliError::Input(format!("{}: {e} (nothing was written)", file.display()));
    let written: DateTime<Utc> = std::fs::metadata(file)
        .and_then(|m| m.modified())
        .map(DateTime::<Utc>::from)
        .unwrap_or_else(|_| Utc::now());
    let bytes = std::fs::read(file).map_err(|e| refused(e.to_string()))?;
    let objects = if file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        csv_objects(&bytes)
    } else {
        json_lines(&bytes)
    }
    .map_err(refused)?;
    objects
        .into_iter()
        .map(|(place, o)| {
            LocalPerson::from_json(o, written).map_err(|e| refused(format!("{place}: {e}")))
        })
        .collect()
}

/// A record read from a file, with where it is (`line 3`, `record 2 (line 5)`).
type PlacedObject = (String, Map<String, Value>);

/// One JSON object per line; blank lines are skipped.
fn json_lines(bytes: &[u8]) -> Result<Vec<PlacedObject>, String> {
    let mut out = Vec::new();
    for (n, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let place = format!("line {}", n + 1);
        let line = std::str::from_utf8(line).map_err(|e| format!("{place}: not UTF-8 ({e})"))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(o)) => out.push((place, o)),
            Ok(_) => return Err(format!("{place}: not a JSON object")),
            Err(e) => return Err(format!("{place}: {e}")),
        }
    }
    Ok(out)
}

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

/// A header row that says what each column is, once: no blank names, no name twice (or
/// twice but for case), and custom fields either as one `custom_fields` column or as
/// `custom_fields.NAME` columns, not both.
fn check_header(header: &[String]) -> Result<(), String> {
    let mut seen: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for (n, name) in header.iter().enumerate() {
        if name.is_empty() || name == "custom_fields." {
            return Err(format!("the header row: column {} has no name", n + 1));
        }
        if let Some(first) = seen.insert(name.to_lowercase(), name) {
            return Err(if first == name {
                format!("the header row: column {name} appears twice")
            } else {
                format!("the header row: columns {first} and {name} name one field")
            });
        }
    }
    let whole = header.iter().any(|h| h == "custom_fields");
    match header.iter().find(|h| h.starts_with("custom_fields.")) {
        Some(one) if whole => Err(format!(
            "the header row: custom_fields and {one} both set custom fields; use one or the other"
        )),
        _ => Ok(()),
    }
}

/// CSV rows as JSON objects (with their record number and the line each starts on, which
/// differ once a quoted cell spans lines): an empty cell is `null`, the id fields numbers,
/// `do_not_contact` a boolean, `tags` and `contact_restrictions` `;`-separated lists, and a
/// `custom_fields.NAME` column a custom field.
fn csv_objects(bytes: &[u8]) -> Result<Vec<PlacedObject>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the header row: {e}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    check_header(&header)?;
    let mut out = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let row = row.map_err(|e| format!("record {}: {e}", n + 1))?;
        let line = row.position().map_or(0, csv::Position::line);
        let place = format!("record {} (line {line})", n + 1);
        let mut object = Map::new();
        for (field, cell) in header.iter().zip(row.iter()) {
            let value = csv_value(field, cell).map_err(|e| format!("{place}: {e}"))?;
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
        out.push((place, object));
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
        let why = RecordFailure::Refused(parked.errors.clone());
        println!("parked: {}: {why}", parked.key);
    }
    for (key, reason) in report.failed.iter().chain(&report.retryable) {
        println!("failed: {key}: {}", salesloft_config::error_chain(reason));
    }
    let (parked, failed, retry) = (
        report.parked.len(),
        report.failed.len(),
        report.retryable.len(),
    );
    if parked + failed + retry == 0 {
        return Ok(());
    }
    let mut why = vec![format!(
        "{} of {} records not written",
        parked + failed + retry,
        report.requested
    )];
    if retry > 0 {
        why.push(format!(
            "{retry} may pass: run again to retry them (the others cost nothing)"
        ));
    }
    if parked > 0 {
        why.push(format!(
            "{parked} refused by SalesLoft: `salesloft people parked` shows why"
        ));
    }
    if failed > 0 {
        why.push(format!("{failed} failed: fix them and push again"));
    }
    Err(CliError::Incomplete(why.join("; ")))
}

/// `people push --file F --enqueue`: hand the records to the worker as `people_push` jobs.
pub async fn enqueue(store: &Store, records: &[LocalPerson]) -> Result<(), CliError> {
    let mut jobs = 0;
    for chunk in records.chunks(RECORDS_PER_JOB) {
        let payload = salesloft_services::jobs::PushPayload::of(chunk);
        let job: NewJob =
            salesloft_jobs::Registry::job::<salesloft_services::jobs::PushJob>(&payload)
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
        // SalesLoft's field errors as a push reports them (the stored JSON if it is not that).
        let why = serde_json::from_str(&p.errors)
            .map(|fields| RecordFailure::Refused(fields).to_string())
            .unwrap_or_else(|_| p.errors.clone());
        println!(
            "{}  refused {}x, last {when}: {why}",
            p.record_key, p.attempts
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
        let rows = csv_objects(text.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, "record 1 (line 2)");
        assert_eq!(
            Value::Object(rows[0].1.clone()),
            json!({"id": 12, "email_address": "a@x.com", "do_not_contact": false,
                   "tags": ["a", "b"], "title": null, "custom_fields": {"tier": "gold"}})
        );
        assert!(
            csv_objects(b"id\nabc\n")
                .unwrap_err()
                .contains("record 1 (line 2): id is not a number")
        );
    }

    #[test]
    fn a_csv_error_names_the_record_and_the_line_it_starts_on() {
        let text = "title,id\n\"two\nlines\",1\n\"three\nmore\nlines\",x\n";
        let err = csv_objects(text.as_bytes()).unwrap_err();
        assert_eq!(err, "record 2 (line 4): id is not a number");
        let bad_utf8 = b"title\nok\n\xff\xfe\n";
        let err = csv_objects(bad_utf8).unwrap_err();
        assert!(
            err.starts_with("record 2") && err.contains("line 3"),
            "{err}"
        );
        let err = json_lines(b"{}\n\xff\n").unwrap_err();
        assert!(err.starts_with("line 2: not UTF-8"), "{err}");
    }

    #[test]
    fn a_header_that_names_a_field_twice_is_refused() {
        for (header, wanted) in [
            ("first_name,first_name", "column first_name appears twice"),
            ("Title,title", "columns Title and title name one field"),
            (
                "custom_fields,custom_fields.tier",
                "custom_fields and custom_fields.tier both set custom fields",
            ),
            ("id,,title", "column 2 has no name"),
            ("custom_fields.", "column 1 has no name"),
        ] {
            let text = format!("{header}\n");
            let err = csv_objects(text.as_bytes()).unwrap_err();
            assert!(err.contains(wanted), "{header}: {err}");
        }
        assert!(csv_objects(b"custom_fields.a,custom_fields.b\n1,2\n").is_ok());
    }
}
