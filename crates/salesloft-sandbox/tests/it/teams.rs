//! Several SalesLoft teams served at one address: each request acts on the team its
//! credentials belong to, with that team's data, budget and OAuth tokens.

use std::sync::Arc;

use salesloft_client::{Auth, Client, InMemoryTokenStore, OAuthApp, Unlimited};
use salesloft_sandbox::{Sandbox, SandboxConfig, TeamSize};

use crate::helpers::client;

fn team(team_id: i64, people: usize, key: &str) -> SandboxConfig {
    SandboxConfig {
        team_id,
        seed: team_id as u64,
        team: TeamSize {
            people,
            ..TeamSize::empty()
        },
        api_keys: vec![key.to_owned()],
        rate_limit_per_minute: Some(600),
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn each_request_acts_on_the_team_its_credentials_belong_to() {
    let teams = Sandbox::start_teams(vec![
        team(16, 3, "ak_team_sixteen_0123456789"),
        team(17, 5, "ak_team_seventeen_0123456789"),
    ])
    .await
    .unwrap();
    let (a, b) = (&teams[0], &teams[1]);
    assert_eq!(a.url(), b.url(), "one address");
    let (ca, cb) = (client(a), client(b));
    assert_eq!(ca.team().await.unwrap().id.0, 16);
    assert_eq!(cb.team().await.unwrap().id.0, 17);
    assert_eq!(
        ca.people()
            .list()
            .per_page(100)
            .send()
            .await
            .unwrap()
            .items
            .len(),
        3
    );
    assert_eq!(
        cb.people()
            .list()
            .per_page(100)
            .send()
            .await
            .unwrap()
            .items
            .len(),
        5
    );
    let users = cb.users().list().per_page(100).send().await.unwrap().items;
    assert!(
        users
            .iter()
            .all(|u| u.team.as_ref().map(|t| t.id.0) == Some(17))
    );
    // Each team's budget counts its own requests only.
    let spent = (a.counters().cost_spent, b.counters().cost_spent);
    assert!(spent.0 > 0 && spent.1 > spent.0, "{spent:?}");
    // A key no team has is refused.
    let stranger = Client::builder(Auth::api_key("ak_nobody"))
        .base_url(a.url())
        .limiter(Arc::new(Unlimited))
        .build()
        .unwrap();
    assert!(stranger.team().await.is_err());

    // OAuth: the authorize page grants for the team its `team_id` names; the tokens act on it.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authorize = url::Url::parse_with_params(
        &format!("{}/oauth/authorize", a.url()),
        &[
            ("client_id", salesloft_sandbox::DEFAULT_CLIENT_ID),
            ("redirect_uri", "http://127.0.0.1:9/back"),
            ("team_id", "17"),
        ],
    )
    .unwrap();
    let answer = http.get(authorize).send().await.unwrap();
    let back = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let app = OAuthApp::new(
        salesloft_sandbox::DEFAULT_CLIENT_ID,
        salesloft_sandbox::DEFAULT_CLIENT_SECRET,
    )
    .with_token_url(a.token_url());
    let tokens = app
        .exchange_code(&code, "http://127.0.0.1:9/back")
        .await
        .unwrap();
    let oauth = Client::builder(Auth::oauth(
        app,
        tokens,
        Arc::new(InMemoryTokenStore::default()),
    ))
    .base_url(a.url())
    .limiter(Arc::new(Unlimited))
    .build()
    .unwrap();
    assert_eq!(oauth.team().await.unwrap().id.0, 17);
    assert_eq!(b.oauth_stats().live_refresh_tokens, 1);
    assert_eq!(a.oauth_stats().live_refresh_tokens, 0);
}
