//! The status page at `/`: server-rendered HTML with inline CSS and SVG charts (no script, no
//! external request), refreshing itself every 10 s. Everything on it is read from the database,
//! the truth every process shares: the streams, jobs and credential holds from the process's
//! latest [`StatusSnapshot`], the charts from their own small queries; nothing secret is shown (errors are the toolkit's own
//! messages, which never carry tokens or keys).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use salesloft_services::{Breakdown, Stream, break_down};
use salesloft_storage::{MinuteSpend, Store};

use super::AppState;
use crate::status::StatusSnapshot;

/// The page's query: `?day=YYYY-MM-DD` picks the day of the per-rep table.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct PageQuery {
    day: Option<chrono::NaiveDate>,
}

/// Minutes of history on the budget and webhook charts.
const MINUTES: i64 = 60;
/// Days on the engagement chart.
const DAYS: i64 = 30;

type PageError = Box<dyn std::error::Error + Send + Sync>;

/// What one team's page shows: its store handle, its latest snapshot, its budget.
struct TeamView {
    /// The team's name in the heading (none for a deployment of one team).
    title: Option<String>,
    store: Store,
    snapshot: std::sync::Arc<StatusSnapshot>,
    budget: Option<salesloft_storage::SharedBudget>,
}

/// `GET /`: with one team, its page; with several, every team at a glance, each linking to
/// its page.
pub(crate) async fn status_page(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Response {
    let rendered = async {
        let teams = state.store.teams().await?;
        if teams.len() > 1 {
            return overview(&state, &teams).await;
        }
        let view = TeamView {
            title: None,
            store: state.store.clone(),
            snapshot: state.snapshot().await?,
            budget: state.budget.clone(),
        };
        render(view, query.day).await
    };
    answer(rendered.await)
}

/// `GET /teams/{slug}`: one team's page (404 for a slug no team has).
pub(crate) async fn team_page(
    State(state): State<AppState>,
    axum::extract::Path(slug): axum::extract::Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let team = match salesloft_storage::TeamSlug::parse(&slug) {
        Ok(slug) => state.store.team_by_slug(&slug).await,
        Err(_) => Ok(None),
    };
    let rendered = async {
        let Some(team) = team? else {
            return Ok(None);
        };
        let view = team_view(&state, &team).await?;
        render(view, query.day).await.map(Some)
    };
    match rendered.await {
        Ok(None) => (StatusCode::NOT_FOUND, Html(page("<p>No such team.</p>"))).into_response(),
        Ok(Some(html)) => Html(html).into_response(),
        Err(e) => answer(Err(e)),
    }
}

fn answer(rendered: Result<String, PageError>) -> Response {
    match rendered {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "rendering the status page failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Html(page(
                    "<p class=\"error\">The database could not be read; retrying.</p>",
                )),
            )
                .into_response()
        }
    }
}

/// `team`'s view: its handle, a snapshot gathered now, its budget (when the process knows
/// the settings that name it).
async fn team_view(
    state: &AppState,
    team: &salesloft_storage::TeamRecord,
) -> Result<TeamView, PageError> {
    let store = state.store.team(team.id);
    let snapshot = std::sync::Arc::new(StatusSnapshot::gather(&store).await?);
    let budget = match &state.settings {
        Some(settings) => crate::teams::team_budget(&state.store, settings, team).await?,
        None => None,
    };
    Ok(TeamView {
        title: Some(format!(
            "{} ({})",
            team.slug,
            team.name.as_deref().unwrap_or("unnamed")
        )),
        store,
        snapshot,
        budget,
    })
}

/// Every team at a glance: state, the stalest stream's time since its sync, the budget
/// spent this minute, and its errors (streams failing, dead jobs, rejected credentials).
async fn overview(
    state: &AppState,
    teams: &[salesloft_storage::TeamRecord],
) -> Result<String, PageError> {
    let now = state.store.now_ms();
    let mut body = heading(None, now);
    body.push_str(
        "<section id=\"teams\"><h2>Teams</h2><table><thead><tr><th>team</th><th>SalesLoft team</th>\
         <th>state</th><th class=\"n\">records</th><th class=\"n\">stalest sync</th>\
         <th class=\"n\">spent this minute</th><th class=\"n\">errors</th></tr></thead><tbody>",
    );
    for team in teams {
        let view = team_view(state, team).await?;
        let s = &view.snapshot;
        let records: i64 = s.streams.iter().map(|st| st.records).sum();
        let stalest = s
            .streams
            .iter()
            .map(|st| st.last_success_at_ms)
            .min()
            .flatten()
            .map_or("never".to_owned(), |at| ago(now - at));
        let spent = match &view.budget {
            Some(b) => {
                let minute = b.spend_since(minute_of(now)).await?;
                format!("{:.0}", minute.iter().map(|m| m.cost).sum::<f64>())
            }
            None => "—".to_owned(),
        };
        let failing = s
            .streams
            .iter()
            .filter(|st| st.last_error.is_some())
            .count();
        let errors = failing + s.dead_jobs.len() + s.credential_holds.len();
        let slug = esc(team.slug.as_str());
        let _ = write!(
            body,
            "<tr data-team=\"{slug}\"><td><a href=\"teams/{slug}\">{slug}</a></td><td>{}</td><td>{}</td>\
             <td class=\"n\">{records}</td><td class=\"n\">{stalest}</td><td class=\"n\">{spent}</td>\
             <td class=\"n{}\">{errors}</td></tr>",
            esc(team.name.as_deref().unwrap_or("—")),
            crate::teams::shown_state(team, &s.credential_holds),
            if errors > 0 { " error" } else { "" },
        );
    }
    body.push_str("</tbody></table></section>");
    Ok(page(&body))
}

fn heading(title: Option<&str>, now: i64) -> String {
    let title = title.map_or(String::new(), |t| format!(": {}", esc(t)));
    format!(
        "<header><h1>SalesLoft integration{title}</h1><p class=\"muted\">as of {} UTC · refreshes every 10 s</p></header>",
        chrono::DateTime::from_timestamp_millis(now)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default()
    )
}

async fn render(view: TeamView, day: Option<chrono::NaiveDate>) -> Result<String, PageError> {
    let store = &view.store;
    let now = store.now_ms();
    let mut body = heading(view.title.as_deref(), now);
    let snapshot = view.snapshot.clone();
    for hold in &snapshot.credential_holds {
        let _ = write!(
            body,
            "<p class=\"alert\" id=\"credentials-rejected\">{}: scheduled work waits for credentials SalesLoft accepts.</p>",
            esc(&hold.to_string())
        );
    }
    streams(&snapshot, now, &mut body);
    budget(view.budget.as_ref(), now, &mut body).await?;
    jobs(&snapshot, &mut body);
    webhooks(store, now, &mut body).await?;
    engagement(store, now, day, &mut body).await?;
    Ok(page(&body))
}

/// The document around `body`.
fn page(body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"10\"><link rel=\"icon\" href=\"data:,\">\
         <title>SalesLoft integration status</title><style>{STYLE}</style></head>\
         <body>{body}</body></html>"
    )
}

/// A page around `body` that does not refresh itself (a form, a result).
pub(super) fn plain_page(body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\"><title>SalesLoft integration</title>\
         <style>{STYLE}</style></head><body>{body}</body></html>"
    )
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:12px;color:#1d2330}\
h1{font-size:20px;margin:0}h2{font-size:16px;margin:24px 0 8px}h3{font-size:14px;margin:16px 0 6px}\
.muted{color:#667}.error{color:#b00020}.alert{color:#b00020;font-weight:600}section{overflow-x:auto}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e6ee;white-space:nowrap}\
td.n,th.n{text-align:right}svg.chart{box-sizing:border-box;width:100%;height:auto;max-height:220px;background:#fafbfd;border:1px solid #e3e6ee}\
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}\
@media (max-width:600px){body{font-size:13px}td,th{padding:3px 4px}}";

/// `text` safe inside HTML.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A duration in ms as `12s`, `5m`, `3h`, `2d`.
fn ago(ms: i64) -> String {
    let s = ms.max(0) / 1_000;
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h", s / 3_600),
        _ => format!("{}d", s / 86_400),
    }
}

fn streams(snapshot: &StatusSnapshot, now: i64, body: &mut String) {
    body.push_str(
        "<section id=\"streams\"><h2>Streams</h2><table><thead><tr><th>stream</th>\
         <th class=\"n\">records</th><th class=\"n\">since sync</th><th class=\"n\">since webhook</th>\
         <th>cursor</th><th class=\"n\">drifted</th><th class=\"n\">quarantined</th><th>errors</th></tr></thead><tbody>",
    );
    for s in &snapshot.streams {
        let name = s.stream.name();
        let since_sync = s
            .last_success_at_ms
            .map_or("never".to_owned(), |at| ago(now - at));
        let since_webhook = snapshot
            .last_webhook_at_ms
            .get(name)
            .map_or("—".to_owned(), |at| ago(now - at));
        let cursor = s
            .cursor_at
            .map(|c| c.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "—".to_owned());
        let error = s.last_error.as_deref().map_or(String::new(), |e| {
            format!("<span class=\"error\">{}</span>", esc(e))
        });
        let _ = write!(
            body,
            "<tr data-stream=\"{name}\"><td>{name}</td><td class=\"n\">{}</td><td class=\"n\">{since_sync}</td>\
             <td class=\"n\">{since_webhook}</td><td>{cursor}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{error}</td></tr>",
            s.records, s.drifted, s.quarantined
        );
    }
    body.push_str("</tbody></table></section>");
}

async fn budget(
    budget: Option<&salesloft_storage::SharedBudget>,
    now: i64,
    body: &mut String,
) -> Result<(), PageError> {
    body.push_str("<section id=\"budget\"><h2>Team budget</h2>");
    let Some(budget) = budget else {
        body.push_str("<p class=\"muted\">No budget configured in this process.</p></section>");
        return Ok(());
    };
    let first = minute_of(now) - (MINUTES - 1) * 60_000;
    let spend = budget.spend_since(first).await?;
    let limit = f64::from(budget.config().per_minute);
    let by_minute: BTreeMap<i64, MinuteSpend> = spend.iter().map(|m| (m.minute_ms, *m)).collect();
    let costs: Vec<f64> = (0..MINUTES)
        .map(|i| by_minute.get(&(first + i * 60_000)).map_or(0.0, |m| m.cost))
        .collect();
    let requests: i64 = spend.iter().map(|m| m.requests).sum();
    let limited: i64 = spend.iter().map(|m| m.rate_limited).sum();
    let this_minute = costs.last().copied().unwrap_or(0.0);
    let _ = write!(
        body,
        "<p>This minute: <b>{this_minute:.0}</b> of {limit:.0} cost. Last hour: {requests} requests, \
         {limited} answered 429, {:.0} cost.</p>",
        costs.iter().sum::<f64>()
    );
    body.push_str(&bar_chart(
        "cost per minute, last hour, against the limit",
        &[("cost", "#3366cc", costs)],
        Some(limit),
    ));
    body.push_str("</section>");
    Ok(())
}

fn minute_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(60_000)
}

fn jobs(snapshot: &StatusSnapshot, body: &mut String) {
    let states = [
        "available",
        "running",
        "retryable",
        "completed",
        "dead",
        "cancelled",
    ];
    let mut by_kind: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (kind, state, n) in &snapshot.jobs {
        by_kind
            .entry(kind.clone())
            .or_default()
            .insert(state.clone(), *n);
    }
    body.push_str("<section id=\"jobs\"><h2>Jobs</h2><table><thead><tr><th>kind</th>");
    for s in states {
        let _ = write!(body, "<th class=\"n\">{s}</th>");
    }
    body.push_str("</tr></thead><tbody>");
    for (kind, by_state) in &by_kind {
        let _ = write!(body, "<tr><td>{}</td>", esc(kind));
        for s in states {
            let _ = write!(
                body,
                "<td class=\"n\">{}</td>",
                by_state.get(s).copied().unwrap_or(0)
            );
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table>");
    let dead = &snapshot.dead_jobs;
    if dead.is_empty() {
        body.push_str("<p class=\"muted\">No dead jobs.</p>");
    } else {
        body.push_str(
            "<h3>Dead jobs</h3><table><thead><tr><th class=\"n\">id</th><th>kind</th>\
             <th class=\"n\">attempts</th><th>last error</th></tr></thead><tbody>",
        );
        for j in dead {
            let _ = write!(
                body,
                "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"error\">{}</td></tr>",
                j.id,
                esc(&j.kind),
                j.attempt,
                esc(j.last_error.as_deref().unwrap_or(""))
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</section>");
}

async fn webhooks(
    store: &Store,
    now: i64,
    body: &mut String,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let first = minute_of(now) - (MINUTES - 1) * 60_000;
    let rows = store.webhook_minutes(first).await?;
    let outcomes = [
        ("processed", "#2e7d32"),
        ("skipped", "#9e9e9e"),
        ("pending", "#f9a825"),
        ("failed", "#c62828"),
    ];
    let mut series: Vec<(&str, &str, Vec<f64>)> = outcomes
        .iter()
        .map(|(name, color)| (*name, *color, vec![0.0; MINUTES as usize]))
        .collect();
    let mut total = 0;
    for (minute, status, n) in rows {
        total += n;
        let slot = usize::try_from((minute - first) / 60_000).unwrap_or(usize::MAX);
        if let Some(s) = series.iter_mut().find(|(name, _, _)| *name == status)
            && let Some(v) = s.2.get_mut(slot)
        {
            *v += n as f64;
        }
    }
    let _ = write!(
        body,
        "<section id=\"webhooks\"><h2>Webhooks</h2><p>Last hour: {total} deliveries stored.</p>"
    );
    body.push_str(&bar_chart(
        "deliveries per minute by outcome, last hour",
        &series,
        None,
    ));
    body.push_str("</section>");
    Ok(())
}

async fn engagement(
    store: &Store,
    now: i64,
    day: Option<chrono::NaiveDate>,
    body: &mut String,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let today = chrono::DateTime::from_timestamp_millis(now)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let first = today - chrono::Duration::days(DAYS - 1);
    let fmt = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let rows = store.engagement_rows(&fmt(first), &fmt(today)).await?;
    let per_day = break_down(&rows, Breakdown::Day);
    let index: BTreeMap<String, &salesloft_services::EngagementTotals> = per_day
        .iter()
        .filter_map(|t| t.day.clone().map(|d| (d, t)))
        .collect();
    let days: Vec<String> = (0..DAYS)
        .map(|i| fmt(first + chrono::Duration::days(i)))
        .collect();
    let pick = |f: fn(&salesloft_services::EngagementTotals) -> i64| -> Vec<f64> {
        days.iter()
            .map(|d| index.get(d).map_or(0.0, |t| f(t) as f64))
            .collect()
    };
    let series = [
        ("sent", "#3366cc", pick(|t| t.emails_sent)),
        ("delivered", "#00897b", pick(|t| t.emails_delivered)),
        ("opened", "#f9a825", pick(|t| t.emails_opened)),
        ("replied", "#8e24aa", pick(|t| t.emails_replied)),
        ("calls", "#e64a19", pick(|t| t.calls)),
    ];
    body.push_str("<section id=\"engagement\"><h2>Engagement, last 30 days</h2>");
    body.push_str(&line_chart(
        "e-mails sent, delivered, opened, replied and calls per day",
        &series,
    ));
    // The chosen day, else the latest with any activity, else today.
    let chosen = day
        .map(fmt)
        .or_else(|| per_day.iter().rev().find_map(|t| t.day.clone()))
        .unwrap_or_else(|| fmt(today));
    reps_of_day(store, &chosen, body).await?;
    body.push_str("</section>");
    Ok(())
}

/// The per-rep table of `day`, with the form that picks the day.
async fn reps_of_day(
    store: &Store,
    day: &str,
    body: &mut String,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let day_rows = store.engagement_rows(day, day).await?;
    let reps = break_down(&day_rows, Breakdown::User);
    let names = user_names(store).await?;
    let _ = write!(
        body,
        "<h3>Per rep on {}</h3><form method=\"get\"><label>day <input type=\"date\" name=\"day\" value=\"{}\"></label> \
         <button type=\"submit\">show</button></form>",
        esc(day),
        esc(day)
    );
    body.push_str(
        "<table id=\"reps\"><thead><tr><th>rep</th><th class=\"n\">sent</th><th class=\"n\">delivered</th>\
         <th class=\"n\">opened</th><th class=\"n\">replied</th><th class=\"n\">calls</th>\
         <th class=\"n\">connected</th><th class=\"n\">successes</th><th class=\"n\">other steps</th>\
         <th class=\"n\">integration steps</th><th class=\"n\">activities</th><th class=\"n\">tasks done</th>\
         </tr></thead><tbody>",
    );
    for r in &reps {
        let id = r.user_id.unwrap_or(0);
        let name = names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("user {id}"));
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&name),
            r.emails_sent,
            r.emails_delivered,
            r.emails_opened,
            r.emails_replied,
            r.calls,
            r.calls_connected,
            r.successes,
            r.other_steps,
            r.integration_steps,
            r.activities,
            r.tasks_completed
        );
    }
    if reps.is_empty() {
        body.push_str("<tr><td colspan=\"12\" class=\"muted\">No activity that day.</td></tr>");
    }
    body.push_str("</tbody></table>");
    Ok(())
}

/// Users' names by id, from the local copy.
async fn user_names(
    store: &Store,
) -> Result<BTreeMap<i64, String>, Box<dyn std::error::Error + Send + Sync>> {
    let Some(users) = Stream::named("users") else {
        return Ok(BTreeMap::new());
    };
    Ok(users
        .raw_records(store)
        .await?
        .into_iter()
        .filter_map(|(id, raw)| {
            let v: serde_json::Value = serde_json::from_str(&raw).ok()?;
            Some((id, v.get("name")?.as_str()?.to_owned()))
        })
        .collect())
}

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
const PAD: f64 = 24.0;

/// A legend for `series`.
fn legend(series: &[(&str, &str, Vec<f64>)]) -> String {
    let mut out = String::from("<div class=\"legend\">");
    for (name, color, _) in series {
        let _ = write!(
            out,
            "<span><i style=\"background:{color}\"></i>{}</span>",
            esc(name)
        );
    }
    out.push_str("</div>");
    out
}

/// The largest value of `series` (and `limit`), at least 1.
fn top(series: &[(&str, &str, Vec<f64>)], limit: Option<f64>) -> f64 {
    series
        .iter()
        .flat_map(|(_, _, v)| v.iter().copied())
        .chain(limit)
        .fold(1.0, f64::max)
}

/// Stacked bars, one per slot, with an optional limit line.
fn bar_chart(title: &str, series: &[(&str, &str, Vec<f64>)], limit: Option<f64>) -> String {
    let slots = series.first().map_or(0, |s| s.2.len()).max(1);
    let stacked: Vec<f64> = (0..slots)
        .map(|i| {
            series
                .iter()
                .map(|s| s.2.get(i).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let max = stacked.iter().copied().chain(limit).fold(1.0, f64::max);
    let plot = HEIGHT - PAD;
    let step = (WIDTH - PAD) / slots as f64;
    let mut svg = svg_open(title, max);
    for i in 0..slots {
        let mut base = 0.0;
        for (name, color, values) in series {
            let v = values.get(i).copied().unwrap_or(0.0);
            if v <= 0.0 {
                continue;
            }
            let h = v / max * plot;
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{}: {v}</title></rect>",
                PAD + i as f64 * step + 1.0,
                plot - base - h,
                (step - 2.0).max(1.0),
                h,
                esc(name)
            );
            base += h;
        }
    }
    if let Some(limit) = limit {
        let y = plot - limit / max * plot;
        let _ = write!(
            svg,
            "<line x1=\"{PAD}\" x2=\"{WIDTH}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#c62828\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{WIDTH}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\" fill=\"#c62828\">limit {limit:.0}</text>",
            (y - 3.0).max(10.0)
        );
    }
    svg.push_str("</svg>");
    svg + &legend(series)
}

/// One line per series over the same slots.
fn line_chart(title: &str, series: &[(&str, &str, Vec<f64>)]) -> String {
    let max = top(series, None);
    let plot = HEIGHT - PAD;
    let mut svg = svg_open(title, max);
    for (_, color, values) in series {
        let slots = values.len().max(2);
        let step = (WIDTH - PAD) / (slots - 1) as f64;
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", PAD + i as f64 * step, plot - v / max * plot))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
    }
    svg.push_str("</svg>");
    svg + &legend(series)
}

/// An SVG of the charts' size with its title, axes and the top value.
fn svg_open(title: &str, max: f64) -> String {
    let plot = HEIGHT - PAD;
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>\
         <line x1=\"{PAD}\" x2=\"{PAD}\" y1=\"0\" y2=\"{plot}\" stroke=\"#99a\"/>\
         <line x1=\"{PAD}\" x2=\"{WIDTH}\" y1=\"{plot}\" y2=\"{plot}\" stroke=\"#99a\"/>\
         <text x=\"2\" y=\"10\" font-size=\"10\" fill=\"#667\">{max:.0}</text>\
         <text x=\"2\" y=\"{plot}\" font-size=\"10\" fill=\"#667\">0</text>",
        t = esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_durations_read_short() {
        assert_eq!(esc("<b a=\"1\">&'"), "&lt;b a=&quot;1&quot;&gt;&amp;&#39;");
        assert_eq!(ago(5_000), "5s");
        assert_eq!(ago(125_000), "2m");
        assert_eq!(ago(7_200_000), "2h");
        assert_eq!(ago(-5), "0s");
    }

    #[test]
    fn charts_draw_a_bar_per_value_and_the_limit() {
        let svg = bar_chart("t", &[("cost", "#000", vec![0.0, 10.0, 20.0])], Some(30.0));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("limit 30"));
        let lines = line_chart(
            "t",
            &[("a", "#000", vec![1.0, 2.0]), ("b", "#111", vec![0.0, 0.0])],
        );
        assert_eq!(lines.matches("<polyline").count(), 2);
    }
}
