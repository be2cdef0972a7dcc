//! The teams a deployment serves: slugs, one slug per SalesLoft team, states, and credentials
//! sealed at rest under rotating keys.

use std::sync::Arc;

use salesloft_storage::testing::fetch_texts;
use salesloft_storage::{
    Backend, Error, Keyring, NewTeam, SecretsKey, TeamCredentials, TeamSlug, TeamState,
};
use secrecy::ExposeSecret;

use crate::helpers::{TestDb, on_both};

fn team(slug: &str, salesloft_team_id: i64, key: &str) -> NewTeam {
    NewTeam {
        slug: TeamSlug::parse(slug).unwrap(),
        base_url: "https://api.salesloft.com".into(),
        salesloft_team_id: Some(salesloft_team_id),
        name: Some(format!("Team {salesloft_team_id}")),
        credentials: TeamCredentials::ApiKey(key.to_owned().into()),
        settings: serde_json::json!({"time_zone": "Europe/Paris"}),
    }
}

fn api_key(credentials: Option<TeamCredentials>) -> String {
    match credentials {
        Some(TeamCredentials::ApiKey(key)) => key.expose_secret().to_owned(),
        other => panic!("an API key, not {other:?}"),
    }
}

/// The sealed credentials as the database holds them, in hex.
async fn stored_hex(db: &TestDb) -> Vec<Option<String>> {
    let sql = match db.store.backend() {
        Backend::Postgres => {
            "SELECT encode(credentials, 'hex') FROM teams WHERE credentials IS NOT NULL ORDER BY id"
        }
        Backend::Sqlite => {
            "SELECT lower(hex(credentials)) FROM teams WHERE credentials IS NOT NULL ORDER BY id"
        }
    };
    fetch_texts(&db.store, sql).await.unwrap()
}

async fn teams_keep_their_credentials_sealed_and_one_slug_per_salesloft_team(db: &TestDb) {
    let (k1, encoded) = SecretsKey::generate("k1");
    let store = db.store.clone().with_keyring(Arc::new(Keyring::new(k1)));
    let acme = store
        .add_team(&team("acme", 16, "ak_acme_secret"))
        .await
        .unwrap();
    assert_eq!(
        (acme.slug.as_str(), acme.state),
        ("acme", TeamState::Active)
    );
    assert_eq!(acme.settings["time_zone"], "Europe/Paris");
    store
        .add_team(&team("globex", 17, "ak_globex_secret"))
        .await
        .unwrap();
    let slugs: Vec<String> = store
        .teams()
        .await
        .unwrap()
        .iter()
        .map(|t| t.slug.to_string())
        .collect();
    // The default team (a single-team deployment's, the owner of what was stored before teams
    // existed) is there from the start, its credentials the configured ones.
    assert_eq!(slugs, ["acme", "default", "globex"]);
    let default = TeamSlug::parse("default").unwrap();
    assert!(store.team_credentials(&default).await.unwrap().is_none());
    assert_eq!(
        api_key(store.team_credentials(&acme.slug).await.unwrap()),
        "ak_acme_secret"
    );

    // Never in the clear in the database.
    let secret_hex = hex::encode("ak_acme_secret");
    let sealed = stored_hex(db).await;
    assert_eq!(sealed.iter().flatten().count(), 2);
    for sealed in sealed.iter().flatten() {
        assert!(!sealed.contains(&secret_hex));
    }
    // A slug in use, or a SalesLoft team another slug holds, is refused.
    let again = store.add_team(&team("acme", 99, "ak_x")).await.unwrap_err();
    assert!(matches!(again, Error::TeamSlugTaken { .. }), "{again}");
    let twice = store
        .add_team(&team("acme-2", 16, "ak_x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&twice, Error::SalesLoftTeamTaken { slug, .. } if slug == "acme"),
        "{twice}"
    );
    assert!(
        store
            .set_team_state(&acme.slug, TeamState::Paused)
            .await
            .unwrap()
    );
    let paused = store.team_by_slug(&acme.slug).await.unwrap().unwrap();
    assert_eq!(paused.state, TeamState::Paused);

    // Without a key nothing opens; a wrong key says which one is missing.
    let keyless = db.store.team_credentials(&acme.slug).await.unwrap_err();
    assert!(matches!(keyless, Error::NoSecretsKey), "{keyless}");
    let (stranger, _) = SecretsKey::generate("k9");
    let wrong = db
        .store
        .clone()
        .with_keyring(Arc::new(Keyring::new(stranger)));
    let refused = wrong.team_credentials(&acme.slug).await.unwrap_err();
    assert!(
        matches!(refused, Error::UnknownSecretsKey { .. }),
        "{refused}"
    );

    // Rotation: a new current key, the old one kept to open; resealed, the old one can go.
    let (k2, encoded_k2) = SecretsKey::generate("k2");
    let old = SecretsKey::from_base64("k1", encoded.expose_secret()).unwrap();
    let rotating = db
        .store
        .clone()
        .with_keyring(Arc::new(Keyring::new(k2).with_older(old)));
    assert_eq!(rotating.reseal_team_credentials().await.unwrap(), 2);
    assert_eq!(rotating.reseal_team_credentials().await.unwrap(), 0);
    let k2 = SecretsKey::from_base64("k2", encoded_k2.expose_secret()).unwrap();
    let rotated = db.store.clone().with_keyring(Arc::new(Keyring::new(k2)));
    let globex = TeamSlug::parse("globex").unwrap();
    assert_eq!(
        api_key(rotated.team_credentials(&globex).await.unwrap()),
        "ak_globex_secret"
    );
}
on_both!(
    teams,
    &teams_keep_their_credentials_sealed_and_one_slug_per_salesloft_team
);

async fn a_connect_state_is_signed_used_once_and_expires(db: &TestDb) {
    use std::sync::atomic::{AtomicI64, Ordering};
    let clock = Arc::new(crate::helpers::SteppedClock(AtomicI64::new(
        1_800_000_000_000,
    )));
    let (key, _) = SecretsKey::generate("k1");
    let store = db
        .store
        .clone()
        .with_keyring(Arc::new(Keyring::new(key)))
        .with_clock(clock.clone());
    let acme = TeamSlug::parse("acme").unwrap();
    let state = store.begin_connect(Some(&acme)).await.unwrap();
    // Taken once, with the slug asked for; a second time (a replayed callback) it is refused.
    let grant = store.take_connect_state(&state).await.unwrap();
    assert_eq!(grant.slug, Some(acme));
    let refused = |e: Error| match e {
        Error::ConnectState { why } => why,
        other => panic!("a refused state, not {other:?}"),
    };
    assert_eq!(
        refused(store.take_connect_state(&state).await.unwrap_err()),
        "used already"
    );

    // One that was not signed here, or was changed, is refused before the database is asked.
    let other = store.begin_connect(None).await.unwrap();
    let (message, _) = other.rsplit_once('.').unwrap();
    let (stranger, _) = SecretsKey::generate("k1");
    let forged = format!(
        "{message}.{}",
        Keyring::new(stranger).sign(b"salesloft-connect-state", message.as_bytes())
    );
    let later = other.replacen(".18", ".19", 1);
    for bad in [forged.as_str(), later.as_str(), "v1", "", "a.b.c.d"] {
        assert_eq!(
            refused(store.take_connect_state(bad).await.unwrap_err()),
            "not one this deployment began",
            "{bad:?}"
        );
    }
    // Ten minutes later it has expired; the first try used it up, so it stays refused.
    clock.0.fetch_add(600_000, Ordering::SeqCst);
    assert_eq!(
        refused(store.take_connect_state(&other).await.unwrap_err()),
        "expired"
    );
    clock.0.fetch_sub(1, Ordering::SeqCst);
    assert_eq!(
        refused(store.take_connect_state(&other).await.unwrap_err()),
        "used already"
    );
    // Without a secrets key nothing can be signed.
    assert!(matches!(
        db.store.begin_connect(None).await,
        Err(Error::NoSecretsKey)
    ));
}

on_both!(
    connect_states,
    &a_connect_state_is_signed_used_once_and_expires
);
