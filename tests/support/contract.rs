//! The report contract in tests: one app's comparable view, and status plus OktaApps against okta-sim's truth.
#![allow(dead_code, unreachable_pub)]

use dti_operator::crd::OktaIntegration;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use super::operator::okta_apps;
use super::sim::Sim;

pub fn ms(v: &Value) -> Value {
    match v.as_str() {
        Some(t) => Value::from(chrono::DateTime::parse_from_rfc3339(t).expect("time").timestamp_millis()),
        None => v.clone(),
    }
}

/// One app as the contract describes it, for comparing status, OktaApps and truth.
pub fn view(a: &Value) -> Value {
    json!({
        "id": a["id"], "name": a["name"], "label": a["label"], "status": a["status"], "signOnMode": a["signOnMode"],
        "builtIn": a["builtIn"].as_bool().unwrap_or(false), "assignedUsers": a["assignedUsers"], "activeUsers": a["activeUsers"],
        "unusedSeats": a["unusedSeats"], "ssoEvents": a["ssoEvents"], "lastUsed": ms(&a["lastUsed"]),
    })
}

/// Status and every OktaApp of `obj` against okta-sim's truth (30 days, as of the last caught-up read of
/// the credential `as_of`: a token's name or an OAuth client id).
pub async fn assert_equals_truth(client: &Client, ns: &str, sim: &Sim, obj: &OktaIntegration, as_of: &str) {
    let truth = sim.truth("30d", as_of).await;
    let status = serde_json::to_value(obj.status.as_ref().expect("status")).expect("json");
    for (key, want) in truth["summary"].as_object().expect("summary") {
        assert_eq!(&status["summary"][key], want, "summary.{key}");
    }
    let truth_apps: Vec<Value> = truth["apps"].as_array().expect("apps").iter().map(view).collect();
    let status_apps: Vec<Value> = status["apps"].as_array().expect("apps").iter().map(view).collect();
    assert_eq!(status_apps, truth_apps.iter().take(100).cloned().collect::<Vec<_>>(), "status.apps");
    let url = format!("{}/__sim/truth?window=30d&asOf={as_of}&daily=true", sim.base);
    let daily: Value = reqwest::get(url).await.expect("truth").json().await.expect("json");
    let apps = okta_apps(client, ns, &obj.name_any()).await;
    assert_eq!(apps.len(), truth_apps.len(), "one OktaApp per app");
    for want in daily["apps"].as_array().expect("apps") {
        let id = want["id"].as_str().expect("id");
        let app = apps.get(id).unwrap_or_else(|| panic!("no OktaApp for {id}"));
        let mut got = serde_json::to_value(app.status.as_ref().expect("OktaApp status")).expect("json");
        got["id"] = Value::from(id);
        assert_eq!(view(&got), view(want), "OktaApp {}", app.name_any());
        assert_eq!(got["dailySignIns"], want["dailySignIns"], "daily sign-ins of {id}");
        let used = if want["ssoEvents"].as_u64().unwrap_or(0) > 0 { "true" } else { "false" };
        assert_eq!(app.labels().get("dti.dev/used").map(String::as_str), Some(used));
        assert_eq!(app.owner_references().first().map(|o| o.uid.clone()), obj.uid());
    }
}
