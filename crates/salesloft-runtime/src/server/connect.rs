//! The connect pages: `GET /connect` lists the teams and offers "Connect a SalesLoft team"
//! (behind the operator login, like every operator route); `POST /connect/start` begins a
//! [`ConnectFlow`] and sends the browser to SalesLoft's authorize page with the signed state,
//! which it also keeps in a cookie bound to this browser (`SameSite=Lax`, so it comes back
//! with SalesLoft's redirect); `GET /connect/callback` is where SalesLoft sends the browser
//! back: outside the login (a `SameSite=Strict` session cookie does not come back from
//! another site), it acts only on a state this deployment signed, unexpired, unused and
//! matching the browser's cookie, then shows the connected team's status.
//!
//! SalesLoft's documentation does not say whether its redirect carries `state`; without one,
//! the cookie's state is taken (still signed, single-use and bound to this browser).

use std::fmt::Write as _;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use salesloft_storage::TeamSlug;

use super::AppState;
use super::status_page::{esc, plain_page};
use crate::admin::form_page_headers;
use crate::connect::{ConnectFlow, Connected, WebhookOutcome};

/// The cookie holding a connect's state in the browser that began it.
pub(crate) const CONNECT_COOKIE: &str = "salesloft_connect";

#[derive(Debug, serde::Deserialize)]
pub(crate) struct StartForm {
    #[serde(default)]
    slug: String,
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The flow of the configured app, if the server knows the settings and they name one.
fn flow(state: &AppState) -> Result<Option<ConnectFlow>, String> {
    match &state.settings {
        Some(settings) => ConnectFlow::from_settings(settings).map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

/// `GET /connect`: the teams, and the form that connects another.
pub(crate) async fn connect_page(State(state): State<AppState>) -> Response {
    let flow = match flow(&state) {
        Ok(flow) => flow,
        Err(why) => return refused(StatusCode::INTERNAL_SERVER_ERROR, &why),
    };
    let mut body = String::from(
        "<header><h1>SalesLoft integration: teams</h1></header><section id=\"teams\">",
    );
    if let Err(e) = team_rows(&state, &mut body).await {
        tracing::warn!(error = %e, "reading the teams for /connect failed");
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "The database could not be read.",
        );
    }
    body.push_str("</section><section id=\"connect\"><h2>Connect a SalesLoft team</h2>");
    match &flow {
        Some(_) => body.push_str(
            "<form method=\"post\" action=\"/connect/start\">\
             <label for=\"slug\">Name in this deployment (a-z, 0-9, -; empty: from SalesLoft's team name)</label> \
             <input id=\"slug\" name=\"slug\" pattern=\"[a-z0-9\\-]{1,40}\" maxlength=\"40\"> \
             <button id=\"connect-team\" type=\"submit\">Connect a SalesLoft team</button></form>\
             <p class=\"muted\">You sign in to SalesLoft and allow the app; the team's data syncs at once. \
             Connecting a team that is here already gives it the new authorization.</p>",
        ),
        None => body.push_str(
            "<p class=\"muted\">To connect teams in a browser, set oauth.client_id, oauth.client_secret \
             and oauth.redirect_url (the app's redirect URI, reaching this server's /connect/callback).</p>",
        ),
    }
    body.push_str("</section>");
    let form_to = flow.as_ref().map(ConnectFlow::authorize_origin);
    (form_page_headers(form_to.as_deref()), plain_page(&body)).into_response()
}

/// Each team: its page, SalesLoft's name of it, its state.
async fn team_rows(state: &AppState, body: &mut String) -> salesloft_storage::Result<()> {
    body.push_str(
        "<table><thead><tr><th>team</th><th>SalesLoft team</th><th>state</th></tr></thead><tbody>",
    );
    for team in state.store.teams().await? {
        let holds = state.store.team(team.id).credential_holds().await?;
        let slug = esc(team.slug.as_str());
        let _ = write!(
            body,
            "<tr data-team=\"{slug}\"><td><a href=\"/teams/{slug}\">{slug}</a></td><td>{}</td><td class=\"state\">{}</td></tr>",
            esc(team.name.as_deref().unwrap_or("—")),
            crate::teams::shown_state(&team, &holds),
        );
    }
    body.push_str("</tbody></table>");
    Ok(())
}

/// `POST /connect/start`: begin, keep the state in this browser, go to SalesLoft.
pub(crate) async fn start(State(state): State<AppState>, Form(form): Form<StartForm>) -> Response {
    let flow = match flow(&state) {
        Ok(Some(flow)) => flow,
        Ok(None) => {
            return refused(
                StatusCode::NOT_FOUND,
                "No OAuth app is configured (oauth.client_id, client_secret, redirect_url).",
            );
        }
        Err(why) => return refused(StatusCode::INTERNAL_SERVER_ERROR, &why),
    };
    let slug = match form.slug.trim() {
        "" => None,
        text => match TeamSlug::parse(text) {
            Ok(slug) => Some(slug),
            Err(e) => return refused(StatusCode::BAD_REQUEST, &e.to_string()),
        },
    };
    let begun = match flow.begin(&state.store, slug.as_ref()).await {
        Ok(begun) => begun,
        Err(e) => return refused(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let secure = flow.redirect_url().scheme() == "https";
    let cookie = format!(
        "{CONNECT_COOKIE}={}; Max-Age={}; Path=/connect; HttpOnly; SameSite=Lax{}",
        begun.state,
        salesloft_storage::CONNECT_STATE_TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    );
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(begun.authorize_url.as_str()),
    )
        .into_response()
}

/// `GET /connect/callback`: finish the connect this browser began, and show the team.
pub(crate) async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let cookie = crate::admin::cookie(&headers, CONNECT_COOKIE);
    let finished = async {
        let flow = flow(&state)?.ok_or("No OAuth app is configured.")?;
        let settings = state.settings.as_ref().ok_or("No settings.")?;
        let connect_state = callback_state(query.state.as_deref(), cookie)?;
        if let Some(error) = &query.error {
            // Used up, so the same state cannot be tried again.
            let _ = state.store.take_connect_state(connect_state).await;
            return Err(format!("SalesLoft did not authorize the app ({error})."));
        }
        let code = query.code.as_deref().ok_or("SalesLoft sent no code.")?;
        let connected = flow
            .finish(&state.store, settings, connect_state, code)
            .await
            .map_err(|e| salesloft_services::error_chain(&e))?;
        // Its deliveries are verified from now on, not at the next periodic read.
        if let Some(teams) = &state.teams
            && let Err(e) = teams.refresh().await
        {
            tracing::warn!(error = %salesloft_services::error_chain(&e), "reading the teams' webhook tokens failed");
        }
        Ok(connected)
    };
    let clear = format!("{CONNECT_COOKIE}=; Max-Age=0; Path=/connect; HttpOnly; SameSite=Lax");
    match finished.await {
        Ok(connected) => {
            tracing::info!(team = %connected.team.slug, reconnected = connected.reconnected, "a team was connected in a browser");
            (
                [(header::SET_COOKIE, clear)],
                form_page_headers(None),
                plain_page(&connected_body(&connected)),
            )
                .into_response()
        }
        Err(why) => {
            let mut answer = refused(StatusCode::BAD_REQUEST, &why);
            if let Ok(v) = HeaderValue::from_str(&clear) {
                answer.headers_mut().insert(header::SET_COOKIE, v);
            }
            answer
        }
    }
}

/// The state to finish with: the callback's, which must be the one this browser's cookie
/// holds; or, when SalesLoft sends none back, the cookie's.
fn callback_state<'a>(sent: Option<&'a str>, cookie: Option<&'a str>) -> Result<&'a str, String> {
    match (sent, cookie) {
        (Some(sent), Some(kept)) if sent == kept => Ok(sent),
        (Some(_), Some(_)) => Err("This connect was begun in another browser or replaced by a later one: start again.".into()),
        (Some(_), None) => Err("This browser did not begin this connect (its connect cookie is missing or expired): start again from /connect.".into()),
        (None, Some(kept)) => Ok(kept),
        (None, None) => Err("No connect is in progress in this browser: start from /connect.".into()),
    }
}

/// What the callback shows: the team, what happened, what runs now.
fn connected_body(c: &Connected) -> String {
    let t = &c.team;
    let slug = esc(t.slug.as_str());
    let webhooks = match &c.webhooks {
        WebhookOutcome::Subscribed {
            url,
            created,
            existing,
        } => format!(
            "subscribed at {} ({created} created, {existing} already there)",
            esc(url)
        ),
        WebhookOutcome::NotConfigured => {
            "not subscribed: webhooks.callback_url is unset (scheduled syncs keep the copy)".into()
        }
        WebhookOutcome::Failed(why) => {
            format!("<span class=\"error\">not subscribed: {}</span>", esc(why))
        }
    };
    format!(
        "<header><h1 id=\"connected\">{} {slug}</h1></header><table id=\"team\">\
         <tr><th>SalesLoft team</th><td>{} (id {})</td></tr>\
         <tr><th>state</th><td class=\"state\">{}</td></tr>\
         <tr><th>sync</th><td>queued to run now</td></tr>\
         <tr><th>webhooks</th><td id=\"webhooks\">{webhooks}</td></tr></table>\
         <p><a id=\"team-page\" href=\"/teams/{slug}\">Its status page</a> · <a href=\"/connect\">All teams</a></p>",
        if c.reconnected {
            "Reconnected"
        } else {
            "Connected"
        },
        esc(t.name.as_deref().unwrap_or("unnamed")),
        t.salesloft_team_id.unwrap_or_default(),
        t.state.as_str(),
    )
}

/// A refusal page with `status`.
fn refused(status: StatusCode, why: &str) -> Response {
    let body = format!(
        "<header><h1>Not connected</h1></header><p class=\"error\" id=\"refused\">{}</p>\
         <p><a href=\"/connect\">Back to the teams</a></p>",
        esc(why)
    );
    (status, form_page_headers(None), plain_page(&body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callback_acts_only_on_the_state_this_browser_holds() {
        assert_eq!(callback_state(Some("s1"), Some("s1")), Ok("s1"));
        assert!(
            callback_state(Some("s1"), Some("s2"))
                .unwrap_err()
                .contains("another browser")
        );
        assert!(
            callback_state(Some("s1"), None)
                .unwrap_err()
                .contains("did not begin")
        );
        // SalesLoft may not send `state` back: the cookie's is taken (still checked and used once).
        assert_eq!(callback_state(None, Some("s2")), Ok("s2"));
        assert!(callback_state(None, None).is_err());
    }

    #[test]
    fn the_form_may_post_to_the_authorize_page_and_nowhere_else() {
        let [(_, policy), ..] = form_page_headers(Some("https://accounts.salesloft.com"));
        let policy = policy.to_str().unwrap();
        assert!(
            policy.contains("form-action 'self' https://accounts.salesloft.com;"),
            "{policy}"
        );
        let [(_, policy), ..] = form_page_headers(None);
        assert!(policy.to_str().unwrap().contains("form-action 'self';"));
    }
}
