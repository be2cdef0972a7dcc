//! The login that operator routes (the status page, `/metrics`) sit behind when
//! `server.admin_token` is set: scrapers send `Authorization: Bearer <token>`; browsers get a
//! login form at `/login`, which sets an HttpOnly, SameSite=Strict session cookie that expires
//! after 12 hours. The cookie holds an expiry and an HMAC of it keyed by the token, so every
//! process configured with the token accepts it, and changing the token logs everybody out.
//!
//! Behind an authenticating reverse proxy, `server.admin_header` names the header the proxy
//! sets on what it lets through (`X-Forwarded-User`): a request carrying it is admitted.
//!
//! Without a token or a header, [`check_exposure`] refuses operator routes on any address
//! but loopback.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The session cookie's name.
pub const COOKIE: &str = "salesloft_admin";
/// How long a login lasts.
const SESSION_SECS: i64 = 12 * 3600;
/// Failed logins one process takes per minute before it answers 429.
const FAILURES_PER_MINUTE: u32 = 20;

/// Operator routes exposed where they must not be.
#[derive(Debug, thiserror::Error)]
#[error(
    "operator routes ({what}) on {addr}, which is not a loopback address, need a login: \
     server.admin_token (SALESLOFT_SERVER__ADMIN_TOKEN, at least 16 bytes), or \
     server.admin_header behind an authenticating proxy; set one, or serve them on a \
     loopback address (server.ops_bind, jobs.metrics_bind)"
)]
pub struct Exposed {
    /// What would be exposed.
    pub what: &'static str,
    /// Where.
    pub addr: SocketAddr,
}

/// Refuse to serve operator routes (`what`) on `addr` unless it is loopback or `auth` has a
/// token.
pub fn check_exposure(
    auth: &AdminAuth,
    addr: SocketAddr,
    what: &'static str,
) -> Result<(), Exposed> {
    if auth.required() || addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(Exposed { what, addr })
    }
}

/// The admin token, if any, and the failed-login count. Cheap to clone.
#[derive(Clone, Default)]
pub struct AdminAuth {
    token: Option<Arc<SecretString>>,
    header: Option<HeaderName>,
    failures: Arc<Mutex<(i64, u32)>>,
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminAuth")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("header", &self.header)
            .finish()
    }
}

type Signer = Hmac<Sha256>;

impl AdminAuth {
    /// Operator routes that ask for `token`; `None` serves them to anyone who can connect
    /// (allowed on loopback only, see [`check_exposure`]).
    pub fn new(token: Option<SecretString>) -> Self {
        Self {
            token: token.map(Arc::new),
            header: None,
            failures: Arc::default(),
        }
    }

    /// Also admit requests carrying `header` (set by an authenticating reverse proxy).
    #[must_use]
    pub fn with_header(mut self, header: Option<HeaderName>) -> Self {
        self.header = header;
        self
    }

    /// Whether a login (the token, or the proxy's header) is required.
    pub fn required(&self) -> bool {
        self.token.is_some() || self.header.is_some()
    }

    /// `router`'s routes behind the login, with `/login` and `/logout` added when there is a
    /// token to log in with.
    pub fn protect(&self, router: Router) -> Router {
        if !self.required() {
            return router;
        }
        let router = router.layer(axum::middleware::from_fn_with_state(
            self.clone(),
            require_login,
        ));
        if self.token.is_none() {
            return router;
        }
        router.merge(
            Router::new()
                .route("/login", get(login_form).post(log_in))
                .route("/logout", get(log_out).post(log_out))
                .with_state(self.clone()),
        )
    }

    fn signer(&self, purpose: &[u8]) -> Option<Signer> {
        let token = self.token.as_ref()?;
        let mut mac = <Signer as KeyInit>::new_from_slice(token.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose);
        Some(mac)
    }

    /// Whether `presented` is the token (constant time: both are compared as HMAC keys of
    /// the same message).
    fn is_token(&self, presented: &str) -> bool {
        let Some(expected) = self.signer(b"salesloft-admin-bearer") else {
            return false;
        };
        let mut mac = <Signer as KeyInit>::new_from_slice(presented.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"salesloft-admin-bearer");
        mac.verify_slice(&expected.finalize().into_bytes()).is_ok()
    }

    /// A session cookie's value, valid until `expires` (Unix seconds).
    fn session(&self, expires: i64) -> Option<String> {
        let mut mac = self.signer(b"salesloft-admin-session:")?;
        mac.update(expires.to_string().as_bytes());
        Some(format!(
            "{expires}.{}",
            hex::encode(mac.finalize().into_bytes())
        ))
    }

    /// Whether `value` is a session this token issued that has not expired at `now`.
    fn is_session(&self, value: &str, now: i64) -> bool {
        let Some((expires, signature)) = value.split_once('.') else {
            return false;
        };
        let (Ok(expires), Ok(signature)) = (expires.parse::<i64>(), hex::decode(signature)) else {
            return false;
        };
        if expires <= now {
            return false;
        }
        let Some(mut mac) = self.signer(b"salesloft-admin-session:") else {
            return false;
        };
        mac.update(expires.to_string().as_bytes());
        mac.verify_slice(&signature).is_ok()
    }

    /// Whether `headers` carry the bearer token, a live session or the proxy's header.
    fn admits(&self, headers: &HeaderMap, now: i64) -> bool {
        if let Some(name) = &self.header
            && headers.get(name).is_some_and(|v| !v.as_bytes().is_empty())
        {
            return true;
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if bearer.is_some_and(|t| self.is_token(t.trim())) {
            return true;
        }
        cookie(headers, COOKIE).is_some_and(|v| self.is_session(v, now))
    }

    /// Count a failed login; whether this minute's allowance is spent.
    fn failed_too_often(&self, now: i64) -> bool {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let minute = now / 60;
        if failures.0 != minute {
            *failures = (minute, 0);
        }
        failures.1 = failures.1.saturating_add(1);
        failures.1 > FAILURES_PER_MINUTE
    }
}

/// The value of cookie `name` in `headers`.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Let the request through with the token or a session; else send a browser to the login
/// form and anything else a 401.
async fn require_login(State(auth): State<AdminAuth>, request: Request, next: Next) -> Response {
    if auth.admits(request.headers(), unix_now()) {
        return next.run(request).await;
    }
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html && request.method() == axum::http::Method::GET && auth.token.is_some() {
        let next = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let target = format!("/login?next={}", encode_component(&next));
        return Redirect::to(&target).into_response();
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer realm=\"salesloft\"")],
        "log in: Authorization: Bearer <server.admin_token>, or /login in a browser\n",
    )
        .into_response()
}

/// Percent-encode everything but unreserved characters.
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where to go after logging in: a path of this server, never another site.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

#[derive(Debug, serde::Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

#[derive(serde::Deserialize)]
struct LoginForm {
    token: String,
    next: Option<String>,
}

/// The login page; `failed` says the last try was wrong.
fn login_page(next: &str, failed: bool) -> String {
    let next = html_escape(next);
    let note = if failed {
        "<p class=\"err\">That is not the admin token.</p>"
    } else {
        ""
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>SalesLoft integration: log in</title>\
         <meta name=\"viewport\" content=\"width=device-width\"><link rel=\"icon\" href=\"data:,\">\
         <style>body{{font:16px system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}}\
         input{{font:inherit;width:100%;padding:.4rem;margin:.5rem 0;box-sizing:border-box}}\
         .err{{color:#b00020}}</style></head><body>\
         <h1>Log in</h1>{note}\
         <form method=\"post\" action=\"/login\">\
         <input name=\"username\" type=\"text\" autocomplete=\"username\" value=\"admin\" hidden readonly>\
         <label for=\"token\">Admin token (server.admin_token)</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus>\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <button id=\"login\" type=\"submit\">Log in</button></form></body></html>"
    )
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Headers every login answer carries: no caching, no framing, no script.
fn page_headers() -> [(header::HeaderName, HeaderValue); 3] {
    form_page_headers(None)
}

/// Headers of an operator page with a form: no caching, no framing, no script; forms post
/// here (and to `form_to`, an origin a form's answer redirects to).
pub(crate) fn form_page_headers(form_to: Option<&str>) -> [(header::HeaderName, HeaderValue); 3] {
    let policy = format!(
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'self'{}; frame-ancestors 'none'",
        form_to.map(|o| format!(" {o}")).unwrap_or_default()
    );
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&policy)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
    ]
}

async fn login_form(Query(query): Query<LoginQuery>) -> Response {
    let next = safe_next(query.next.as_deref());
    (page_headers(), login_page(next, false)).into_response()
}

async fn log_in(
    State(auth): State<AdminAuth>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let now = unix_now();
    let next = safe_next(form.next.as_deref()).to_owned();
    if !auth.is_token(form.token.trim()) {
        if auth.failed_too_often(now) {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "60")],
                "too many failed logins; try again in a minute\n",
            )
                .into_response();
        }
        return (
            StatusCode::UNAUTHORIZED,
            page_headers(),
            login_page(&next, true),
        )
            .into_response();
    }
    let expires = now.saturating_add(SESSION_SECS);
    let Some(session) = auth.session(expires) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Secure when the browser reached us over HTTPS (a proxy that terminates TLS says so).
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{COOKIE}={session}; Max-Age={SESSION_SECS}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

async fn log_out() -> Response {
    (
        [(
            header::SET_COOKIE,
            format!("{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> AdminAuth {
        AdminAuth::new(Some(SecretString::from("an-admin-token-of-32-bytes-long!")))
    }

    #[test]
    fn the_token_and_nothing_else_is_the_token() {
        let a = auth();
        assert!(a.is_token("an-admin-token-of-32-bytes-long!"));
        assert!(!a.is_token("an-admin-token-of-32-bytes-long"));
        assert!(!a.is_token(""));
        assert!(!AdminAuth::new(None).is_token(""));
    }

    #[test]
    fn sessions_expire_and_cannot_be_forged() {
        let a = auth();
        let s = a.session(1_000).unwrap();
        assert!(a.is_session(&s, 999));
        assert!(!a.is_session(&s, 1_000), "expired");
        let forged = s.replacen("1000", "9999", 1);
        assert!(
            !a.is_session(&forged, 999),
            "a later expiry breaks the signature"
        );
        let other = AdminAuth::new(Some(SecretString::from("another-token-of-enough-bytes")));
        assert!(!other.is_session(&s, 999), "another token's session");
        assert!(!a.is_session("garbage", 0));
        assert!(!a.is_session("5.zz", 0));
    }

    #[test]
    fn bearer_or_cookie_admits() {
        let a = auth();
        let mut h = HeaderMap::new();
        assert!(!a.admits(&h, 0));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer an-admin-token-of-32-bytes-long!"),
        );
        assert!(a.admits(&h, 0));
        let mut h = HeaderMap::new();
        let cookie_value = format!("theme=dark; {COOKIE}={}", a.session(100).unwrap());
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&cookie_value).unwrap(),
        );
        assert!(a.admits(&h, 50));
        assert!(!a.admits(&h, 100));
    }

    #[test]
    fn after_login_only_local_paths() {
        assert_eq!(safe_next(Some("/?day=2026-01-02")), "/?day=2026-01-02");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn operator_routes_off_loopback_need_a_token() {
        let open = AdminAuth::new(None);
        assert!(check_exposure(&open, "127.0.0.1:1".parse().unwrap(), "x").is_ok());
        assert!(check_exposure(&open, "[::1]:1".parse().unwrap(), "x").is_ok());
        let err = check_exposure(&open, "0.0.0.0:1".parse().unwrap(), "the status page")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("server.admin_token") && err.contains("0.0.0.0:1"),
            "{err}"
        );
        assert!(check_exposure(&auth(), "0.0.0.0:1".parse().unwrap(), "x").is_ok());
        let proxied = AdminAuth::new(None).with_header(Some(HeaderName::from_static("x-user")));
        assert!(check_exposure(&proxied, "0.0.0.0:1".parse().unwrap(), "x").is_ok());
    }

    #[test]
    fn the_proxy_header_admits_only_when_set_and_not_empty() {
        let proxied = AdminAuth::new(None).with_header(Some(HeaderName::from_static("x-user")));
        let mut h = HeaderMap::new();
        assert!(!proxied.admits(&h, 0));
        h.insert("x-user", HeaderValue::from_static(""));
        assert!(!proxied.admits(&h, 0), "an empty header is no user");
        h.insert("x-user", HeaderValue::from_static("ops@example.com"));
        assert!(proxied.admits(&h, 0));
        assert!(
            !auth().admits(&h, 0),
            "without admin_header the header is nobody"
        );
    }

    #[test]
    fn failed_logins_are_limited_per_minute() {
        let a = auth();
        for _ in 0..FAILURES_PER_MINUTE {
            assert!(!a.failed_too_often(60));
        }
        assert!(a.failed_too_often(61));
        assert!(!a.failed_too_often(120), "a new minute");
    }
}
