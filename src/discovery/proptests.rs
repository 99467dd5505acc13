//! Property tests for the pages Okta sends: any bytes are an error or a page, never a panic, and every
//! well-formed record of each object type is read back with its fields.

use proptest::prelude::*;
use serde_json::json;

use super::assignments::{RawAppGroup, RawAppUser};
use super::directory::RawUser;
use super::events::RawEvent;
use super::inventory::RawApp;
use super::records::{Skips, parse_page};

fn id(prefix: &'static str) -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{17}".prop_map(move |s| format!("{prefix}{s}"))
}

proptest! {
    #[test]
    fn any_bytes_are_a_page_or_an_error(body in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut skips = Skips::default();
        let _ = parse_page::<RawUser>(&body, "GET /api/v1/users", &mut skips);
        let _ = parse_page::<RawApp>(&body, "GET /api/v1/apps", &mut skips);
        let _ = parse_page::<RawAppUser>(&body, "GET /api/v1/apps/x/users", &mut skips);
        let _ = parse_page::<RawAppGroup>(&body, "GET /api/v1/apps/x/groups", &mut skips);
        let _ = parse_page::<RawEvent>(&body, "GET /api/v1/logs", &mut skips);
    }

    #[test]
    fn any_json_values_are_skipped_or_read(items in prop::collection::vec(prop_oneof![
        Just(json!(null)), Just(json!({})), Just(json!({"id": null})), Just(json!([])), Just(json!(42)),
        ".{0,20}".prop_map(|s| json!({"id": s, "status": s, "label": s, "published": s})),
    ], 0..20)) {
        let body = serde_json::to_vec(&items).expect("json");
        for endpoint in ["users", "apps", "logs"] {
            let mut skips = Skips::default();
            let n = match endpoint {
                "users" => parse_page::<RawUser>(&body, endpoint, &mut skips).map(|v| v.len()),
                "apps" => parse_page::<RawApp>(&body, endpoint, &mut skips).map(|v| v.len()),
                _ => parse_page::<RawEvent>(&body, endpoint, &mut skips).map(|v| v.len()),
            };
            prop_assert_eq!(n.expect("an array is a page") as u64 + skips.skipped, items.len() as u64);
        }
    }

    #[test]
    fn well_formed_users_and_app_users_read_back(users in prop::collection::vec((id("00u"), "(ACTIVE|SUSPENDED|STAGED|PROVISIONED)"), 1..30)) {
        let page: Vec<_> = users.iter().map(|(id, status)| json!({"id": id, "status": status, "profile": {"login": format!("{id}@acme.com")}, "extra": {"unknown": true}})).collect();
        let mut skips = Skips::default();
        let got = parse_page::<RawUser>(&serde_json::to_vec(&page).expect("json"), "GET /api/v1/users", &mut skips).expect("page");
        prop_assert_eq!(got.len(), users.len());
        prop_assert_eq!(skips.skipped, 0);
        let rows: Vec<_> = users.iter().map(|(id, status)| json!({"id": id, "scope": "USER", "status": status, "_links": {}})).collect();
        let got = parse_page::<RawAppUser>(&serde_json::to_vec(&rows).expect("json"), "GET /api/v1/apps/x/users", &mut skips).expect("page");
        prop_assert_eq!(got.len(), users.len());
    }

    #[test]
    fn well_formed_apps_and_events_read_back(apps in prop::collection::vec((id("0oa"), "[a-z_]{1,12}", prop::option::of(".{1,30}")), 1..20)) {
        let page: Vec<_> = apps.iter().map(|(id, name, label)| json!({"id": id, "name": name, "label": label, "status": "ACTIVE", "signOnMode": "SAML_2_0"})).collect();
        let mut skips = Skips::default();
        let got = parse_page::<RawApp>(&serde_json::to_vec(&page).expect("json"), "GET /api/v1/apps", &mut skips).expect("page");
        prop_assert_eq!(got.len(), apps.len());
        let events: Vec<_> = apps.iter().map(|(id, _, _)| json!({
            "uuid": format!("u{id}"), "published": "2026-11-30T10:00:00.000Z", "eventType": "user.authentication.sso",
            "outcome": {"result": "SUCCESS"}, "actor": {"id": "00u1", "type": "User"},
            "target": [{"id": id, "type": "AppInstance"}], "transaction": {"id": format!("t{id}")}})).collect();
        let got = parse_page::<RawEvent>(&serde_json::to_vec(&events).expect("json"), "GET /api/v1/logs", &mut skips).expect("page");
        prop_assert_eq!(got.len(), apps.len());
        prop_assert_eq!(skips.skipped, 0);
    }
}
