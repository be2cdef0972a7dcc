//! Who may call the sandbox: bearer API keys, and OAuth access tokens issued by its token
//! endpoint (authorization code, refresh with rotation, client credentials), which expire.

use std::collections::{HashMap, HashSet};

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// An OAuth application the sandbox knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthClient {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
}

/// Issued credentials and the rules for checking them.
#[derive(Debug)]
pub struct AuthState {
    api_keys: HashSet<String>,
    revoked_keys: HashSet<String>,
    clients: Vec<OAuthClient>,
    ttl_ms: i64,
    access: HashMap<String, i64>,
    refresh: HashMap<String, String>,
    codes: HashMap<String, String>,
    rng: fastrand::Rng,
    stats: OAuthStats,
}

/// What the token endpoint did: for tests of clients that share tokens across processes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OAuthStats {
    /// Refresh-token grants served.
    pub refreshes: u64,
    /// Grants refused with `invalid_grant` (a revoked, reused or unknown refresh token or code).
    pub invalid_grants: u64,
    /// Refresh tokens issued and not yet revoked.
    pub live_refresh_tokens: usize,
}

/// A token-endpoint error: status and `{"error", "error_description"}`.
pub type TokenError = (StatusCode, Value);

impl AuthState {
    /// Credentials accepting `api_keys` and the OAuth `clients`, tokens living `ttl_ms`.
    pub fn new(api_keys: &[String], clients: &[OAuthClient], ttl_ms: i64, seed: u64) -> Self {
        Self {
            api_keys: api_keys.iter().cloned().collect(),
            revoked_keys: HashSet::new(),
            clients: clients.to_vec(),
            ttl_ms,
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            rng: fastrand::Rng::with_seed(seed ^ 0x5eed_0a07),
            stats: OAuthStats::default(),
        }
    }

    /// Whether `token` is one of its API keys or an access token it issued (expired or not).
    pub fn knows(&self, token: &str) -> bool {
        self.api_keys.contains(token)
            || self.revoked_keys.contains(token)
            || self.access.contains_key(token)
    }

    /// Whether it issued the code or refresh token a token request (`params`) presents.
    pub fn issued(&self, p: &Map<String, Value>) -> bool {
        let get = |k: &str| p.get(k).and_then(Value::as_str);
        get("code").is_some_and(|c| self.codes.contains_key(c))
            || get("refresh_token").is_some_and(|r| self.refresh.contains_key(r))
    }

    /// Check an `Authorization` header value.
    pub fn check(&self, authorization: Option<&str>, now_ms: i64) -> Result<(), ApiError> {
        let Some(token) = authorization.and_then(bearer) else {
            return Err(ApiError::unauthorized(
                "No Bearer Token attached to request, please see documentation at developers.salesloft.com",
            ));
        };
        if self.api_keys.contains(token) {
            return Ok(());
        }
        if self.revoked_keys.contains(token) {
            return Err(ApiError::unauthorized("The API key was revoked"));
        }
        match self.access.get(token) {
            Some(exp) if *exp > now_ms => Ok(()),
            Some(_) => Err(ApiError::unauthorized("The access token expired")),
            None => Err(ApiError::unauthorized("The access token is invalid")),
        }
    }

    fn secret(&mut self) -> String {
        let a = self.rng.u128(..);
        let b = self.rng.u128(..);
        format!("{a:032x}{b:032x}")
    }

    /// Issue an authorization code for `client_id` (what the authorize page would redirect
    /// back with).
    pub fn issue_code(&mut self, client_id: &str) -> Result<String, TokenError> {
        if !self.clients.iter().any(|c| c.client_id == client_id) {
            return Err(token_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Unknown client",
            ));
        }
        let code = self.secret();
        self.codes.insert(code.clone(), client_id.to_owned());
        Ok(code)
    }

    /// `POST /oauth/token` with the request's parameters (JSON or form).
    pub fn token(&mut self, p: &Map<String, Value>, now_ms: i64) -> Result<Value, TokenError> {
        let get = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let client_id = get("client_id");
        let secret = get("client_secret");
        if !self
            .clients
            .iter()
            .any(|c| c.client_id == client_id && c.client_secret == secret)
        {
            return Err(token_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
            ));
        }
        let with_refresh = match get("grant_type").as_str() {
            "authorization_code" => {
                let code = get("code");
                match self.codes.remove(&code) {
                    Some(owner) if owner == client_id => true,
                    _ => return Err(self.invalid_grant()),
                }
            }
            "refresh_token" => {
                let old = get("refresh_token");
                match self.refresh.remove(&old) {
                    // Rotation: the old refresh token is revoked as the new one is issued.
                    Some(owner) if owner == client_id => {
                        self.stats.refreshes += 1;
                        true
                    }
                    _ => return Err(self.invalid_grant()),
                }
            }
            "client_credentials" => false,
            other => {
                return Err(token_error(
                    StatusCode::BAD_REQUEST,
                    "unsupported_grant_type",
                    &format!("The authorization grant type {other:?} is not supported."),
                ));
            }
        };
        let access = self.secret();
        self.access.insert(access.clone(), now_ms + self.ttl_ms);
        let mut body = json!({
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.ttl_ms / 1000,
            "scope": p.get("scope").and_then(Value::as_str).unwrap_or("people:read people:write cadences:read"),
            "created_at": now_ms / 1000,
        });
        if with_refresh {
            let refresh = self.secret();
            self.refresh.insert(refresh.clone(), client_id);
            body["refresh_token"] = json!(refresh);
        }
        Ok(body)
    }

    /// Make every access token expire now (to test a client's refresh path).
    pub fn expire_access_tokens(&mut self) {
        for exp in self.access.values_mut() {
            *exp = i64::MIN;
        }
    }

    /// Revoke its API keys (an admin deleted them): requests with them get 401.
    pub fn revoke_api_keys(&mut self) {
        self.revoked_keys.extend(self.api_keys.drain());
    }

    /// Revoke every access and refresh token issued so far.
    pub fn revoke_all(&mut self) {
        self.access.clear();
        self.refresh.clear();
    }

    /// What the token endpoint did so far.
    pub fn stats(&self) -> OAuthStats {
        OAuthStats {
            live_refresh_tokens: self.refresh.len(),
            ..self.stats
        }
    }

    fn invalid_grant(&mut self) -> TokenError {
        self.stats.invalid_grants += 1;
        token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
        )
    }
}

/// The token of an `Authorization: Bearer` header value.
pub(crate) fn bearer(header: &str) -> Option<&str> {
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
}

fn token_error(status: StatusCode, error: &str, description: &str) -> TokenError {
    (
        status,
        json!({"error": error, "error_description": description}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect()
    }

    #[test]
    fn refresh_tokens_rotate_and_old_ones_are_revoked() {
        let client = OAuthClient {
            client_id: "c".into(),
            client_secret: "s".into(),
        };
        let mut a = AuthState::new(&[], &[client], 7_200_000, 1);
        let code = a.issue_code("c").unwrap();
        let t = a
            .token(
                &params(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("client_id", "c"),
                    ("client_secret", "s"),
                ]),
                0,
            )
            .unwrap();
        let r1 = t["refresh_token"].as_str().unwrap().to_owned();
        let access = t["access_token"].as_str().unwrap().to_owned();
        assert!(a.check(Some(&format!("Bearer {access}")), 1).is_ok());
        assert!(
            a.check(Some(&format!("Bearer {access}")), 7_200_001)
                .is_err(),
            "expired"
        );
        let refresh = |a: &mut AuthState, r: &str| {
            a.token(
                &params(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", r),
                    ("client_id", "c"),
                    ("client_secret", "s"),
                ]),
                0,
            )
        };
        let t2 = refresh(&mut a, &r1).unwrap();
        assert_ne!(t2["refresh_token"], t["refresh_token"]);
        assert_eq!(
            refresh(&mut a, &r1).unwrap_err().1["error"],
            "invalid_grant"
        );
        assert!(a.check(None, 0).is_err());
    }
}
