//! The exported metrics: computed from state at scrape time, keyed by app id, and documented in the
//! README exactly as exported.

use super::*;
use crate::controller::state::Results;
use crate::crd::{AppSummary, Summary};

fn app(id: &str, label: &str, active: u64) -> AppSummary {
    AppSummary {
        id: id.into(),
        name: "n".into(),
        label: label.into(),
        status: "ACTIVE".into(),
        sign_on_mode: "SAML_2_0".into(),
        built_in: false,
        assigned_users: 9,
        active_users: active,
        unused_seats: 9 - active,
        sso_events: 1,
        last_used: None,
        reclaim: Some(crate::crd::ReclaimSeats { seats: 3, inactive: 1, never_used: 2, ..Default::default() }),
    }
}

#[test]
fn gauges_come_from_state_and_apps_are_keyed_by_id() {
    let states = States::default();
    let st = states.get(&crate::controller::shared::IntegrationKey::new("team-a", "acme"), "u1");
    lock(&st).record.results = Some(Results {
        summary: Summary { apps: 2, used_apps: 2, unused_seats: 9, users: 40, ..Summary::default() },
        apps: vec![app("0oa1", "Salesforce", 5), app("0oa2", "Salesforce", 4)],
        unused_apps: vec![],
        apps_total: 2,
        generation: Some(1),
    });
    let metrics = Metrics::new(states.clone(), Arc::new(GovernorRegistry::default()), 10);
    let text = metrics.encode();
    assert!(text.contains(r#"dti_integration_apps{namespace="team-a",name="acme"} 2"#), "{text}");
    assert!(text.contains(r#"dti_integration_unused_seats{namespace="team-a",name="acme"} 9"#), "{text}");
    assert!(
        text.contains(r#"app_id="0oa1",app="Salesforce"} 5"#) && text.contains(r#"app_id="0oa2",app="Salesforce"} 4"#),
        "two apps with one label stay apart: {text}"
    );
    assert!(text.contains("dti_integration_ready{"), "{text}");
    states.remove(&crate::controller::shared::IntegrationKey::new("team-a", "acme"));
    let gone = metrics.encode();
    assert!(!gone.contains(r#"name="acme""#), "a forgotten integration has no series: {gone}");
}

#[test]
fn the_readme_reference_lists_every_exported_metric() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let table = reference_markdown();
    assert!(table.lines().count() > 20, "{table}");
    assert!(
        readme.contains(&table),
        "README.md's metrics reference is out of date: regenerate it with `dti-operator docs metrics`:\n{table}"
    );
    let reasons = crate::controller::reasons_reference();
    assert!(
        readme.contains(&reasons),
        "README.md's reasons table is out of date: regenerate it with `dti-operator docs reasons`:\n{reasons}"
    );
}

#[test]
fn series_of_an_org_no_integration_uses_are_dropped() {
    use crate::controller::state::{AccessCheck, AccessKey};
    use crate::okta::{Bucket, Fingerprint, RequestObserver};
    let states = States::default();
    let st = states.get(&crate::controller::shared::IntegrationKey::new("team-a", "acme"), "u1");
    let key = |origin: &str| AccessKey { origin: origin.into(), fingerprint: Fingerprint([0; 8]), generation: 1 };
    let check = |origin: &str| AccessCheck {
        key: key(origin),
        permissions: Default::default(),
        problem: None,
        checked_at: std::time::Instant::now(),
    };
    lock(&st).access.check = Some(check("https://old.okta.com"));
    let metrics = Metrics::new(states.clone(), Arc::new(GovernorRegistry::default()), 10);
    for origin in ["https://old.okta.com", "https://new.okta.com"] {
        metrics.on_answer(origin, Bucket::Users, Some(200));
        metrics.on_wait(origin, Bucket::Users, Duration::from_millis(5));
    }
    let text = metrics.encode();
    assert!(text.contains(r#"org="https://old.okta.com""#), "{text}");
    assert!(!text.contains("new.okta.com"), "an org no integration uses is dropped: {text}");
    lock(&st).access.check = Some(check("https://new.okta.com")); // spec.domain edited
    metrics.on_answer("https://new.okta.com", Bucket::Users, Some(200));
    let text = metrics.encode();
    assert!(!text.contains("old.okta.com") && text.contains("new.okta.com"), "{text}");
}
