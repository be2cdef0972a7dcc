//! Decoding a page of 100 people: records per second into typed `Person`s, against the
//! reference of decoding the same bytes into untyped `serde_json::Value`, in the same run.
//!
//! Run: `cargo bench -p salesloft-client --bench decode`

#![allow(clippy::print_stdout, missing_docs)]
#![recursion_limit = "256"]

use std::hint::black_box;
use std::time::{Duration, Instant};

use salesloft_client::{Page, Person, Received};
use serde_json::{Value, json};

fn person(i: i64) -> Value {
    let us = 1_709_797_560_302_715i64 + i * 1_234_567;
    let t = |us: i64| {
        chrono::DateTime::from_timestamp_micros(us)
            .expect("instant")
            .with_timezone(&chrono::FixedOffset::west_opt(5 * 3600).expect("offset"))
            .format("%Y-%m-%dT%H:%M:%S%.6f%:z")
            .to_string()
    };
    let maybe = |cond: bool, v: Value| if cond { v } else { Value::Null };
    json!({
        "id": 164_510_523 + i,
        "created_at": t(us - 86_400_000_000), "updated_at": t(us),
        "last_contacted_at": maybe(i % 3 == 0, json!(t(us - 3_600_000_000))),
        "last_replied_at": null,
        "first_name": format!("First{i}"), "last_name": format!("Last{i}"),
        "display_name": format!("First{i} Last{i}"),
        "email_address": format!("person{i}@example{}.com", i % 17),
        "full_email_address": format!("\"First{i} Last{i}\" <person{i}@example.com>"),
        "secondary_email_address": null, "personal_email_address": null,
        "phone": maybe(i % 2 == 0, json!("+1 555 0100")), "phone_extension": null,
        "home_phone": null, "mobile_phone": null,
        "linkedin_url": maybe(i % 4 == 0, json!(format!("https://linkedin.com/in/p{i}"))),
        "title": maybe(i % 2 == 1, json!("VP of Sales")), "city": null, "state": null,
        "country": "US", "work_city": "Atlanta", "work_state": "GA", "work_country": "US",
        "crm_url": null, "crm_id": maybe(i % 5 == 0, json!(format!("003{i:012}"))),
        "account_crm_id": null, "crm_object_type": "contact", "owner_crm_id": null,
        "person_company_name": "Acme", "person_company_website": "http://acme.example",
        "person_company_industry": null, "do_not_contact": i % 50 == 0, "bouncing": false,
        "locale": "US/Eastern", "locale_utc_offset": -300, "eu_resident": false,
        "personal_website": null, "twitter_handle": null, "last_contacted_type": "email",
        "job_seniority": "manager",
        "custom_fields": {"segment": "enterprise", "score": i % 100},
        "tags": ["q3", "webinar"], "contact_restrictions": [],
        "success_count": 0, "starred": false, "untouched": i % 3 != 0,
        "counts": {"emails_sent": i % 9, "emails_viewed": i % 7, "emails_clicked": 1,
                   "emails_replied_to": 0, "emails_bounced": 0, "calls": 2},
        "account": {"_href": "https://api.salesloft.com/v2/accounts/9", "id": 9 + i % 40},
        "owner": {"_href": "https://api.salesloft.com/v2/users/51550", "id": 51550},
        "last_contacted_by": {"_href": "https://api.salesloft.com/v2/users/51550", "id": 51550},
        "import": null, "person_stage": {"_href": "https://api.salesloft.com/v2/person_stages/3", "id": 3},
        "most_recent_cadence": {"_href": "https://api.salesloft.com/v2/cadences/1042", "id": 1042},
        "last_completed_step_cadence": null, "last_completed_step": null,
        "cadences": [{"_href": "https://api.salesloft.com/v2/cadences/1042", "id": 1042}]
    })
}

fn rate(bytes: &[u8], budget: Duration, decode: impl Fn(&[u8]) -> usize) -> f64 {
    // Warm up, then count whole pages decoded within the budget.
    for _ in 0..50 {
        black_box(decode(black_box(bytes)));
    }
    let started = Instant::now();
    let mut records = 0usize;
    while started.elapsed() < budget {
        records += decode(black_box(bytes));
    }
    records as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let page = json!({
        "metadata": {"filtering": {}, "paging": {"per_page": 100, "current_page": 1, "next_page": 2, "prev_page": null},
                     "sorting": {"sort_by": "updated_at", "sort_direction": "ASC NULLS FIRST"}},
        "data": (0..100).map(person).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec(&page).expect("page encodes");
    let budget = Duration::from_secs(3);

    let typed = rate(&bytes, budget, |b| {
        let p: Page<Received<Person>> = salesloft_client::wire::parse_page(b).expect("decodes");
        p.items.len()
    });
    let reference = rate(&bytes, budget, |b| {
        let v: Value = serde_json::from_slice(b).expect("decodes");
        v["data"].as_array().map_or(0, Vec::len)
    });
    println!("page of 100 people: {} bytes", bytes.len());
    println!("typed, raw kept (salesloft-client):    {typed:>12.0} records/s");
    println!("reference serde_json::Value:           {reference:>12.0} records/s");
    println!(
        "ratio typed / reference:               {:>12.2}",
        typed / reference
    );
}
