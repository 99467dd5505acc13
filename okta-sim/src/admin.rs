//! The `/__sim/` control endpoints: statistics, ground truth, faults, the living org's changes, sign-ins,
//! and revoking credentials.

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::faults::FaultRule;
use super::handlers::Query;
use super::living::{self, Change};
use super::org::AppKind;
use super::server::json_response;
use super::state::SimState;
use super::truth::{self, TruthQuery};

fn bad(message: impl Into<String>) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({"error": message.into()}))
}

/// `asOf`: now (default), start (the simulator's start), or a credential's last caught-up poll.
fn as_of(state: &SimState, q: &Query) -> DateTime<Utc> {
    match q.get("asOf") {
        None | Some("now") => state.clock.now(),
        Some("start") => state.org().anchor,
        Some(credential) => state
            .last_caught_up(credential)
            .and_then(DateTime::from_timestamp_millis)
            .unwrap_or_else(|| state.clock.now()),
    }
}

fn truth(state: &SimState, q: &Query) -> Response {
    let days = q.get("window").and_then(|w| w.strip_suffix('d')).and_then(|d| d.parse().ok()).unwrap_or(30);
    let domain = q.get("domain").unwrap_or("okta-sim").to_string();
    let query = TruthQuery {
        domain: &domain,
        days,
        at: as_of(state, q),
        include_okta_apps: q.get("includeOktaApps") == Some("true"),
        daily: q.get("daily") == Some("true"),
        history: q.get("history") == Some("true"),
        inactive_after: chrono::Duration::days(
            q.get("inactiveAfter").and_then(|w| w.strip_suffix('d')).and_then(|d| d.parse().ok()).unwrap_or(60),
        ),
        exempt_groups: q.get("exemptGroups").map(|g| g.split(',').map(str::to_string).collect()).unwrap_or_default(),
        breakdown: q.get("breakdown").map(|b| b.split(',').map(str::to_string).collect()).unwrap_or_default(),
    };
    json_response(StatusCode::OK, &truth::report(state, &query))
}

/// The org's ids, so tests can name apps, users and groups in changes.
fn directory(state: &SimState) -> Response {
    let org = state.org();
    let apps: Vec<Value> = org
        .apps
        .iter()
        .enumerate()
        .map(|(i, a)| {
            json!({"id": a.id, "label": a.label, "name": a.name, "active": a.active, "deleted": a.deleted,
                "kind": match a.kind { AppKind::Saas => "saas", AppKind::OktaOwn => "okta", AppKind::ServiceClient => "service" },
                "groups": a.groups.iter().map(|&g| org.groups[g as usize].id.clone()).collect::<Vec<_>>(),
                "assigned": org.assignments[i].len()})
        })
        .collect();
    let users: Vec<Value> = org
        .users
        .iter()
        .take(2000)
        .map(|u| json!({"id": u.id, "login": u.login, "status": u.status.as_str()}))
        .collect();
    let groups: Vec<Value> =
        org.groups.iter().map(|g| json!({"id": g.id, "name": g.name, "members": g.members.len()})).collect();
    json_response(StatusCode::OK, &json!({"apps": apps, "users": users, "groups": groups}))
}

fn set_faults(state: &SimState, parsed: Value) -> Response {
    let specs: Vec<String> = serde_json::from_value(parsed).unwrap_or_default();
    match specs.iter().map(|s| FaultRule::parse(s)).collect::<Result<Vec<_>, _>>() {
        Ok(rules) => {
            if let Ok(mut faults) = state.faults.write() {
                *faults = rules;
            }
            json_response(StatusCode::OK, &json!({"faults": specs}))
        }
        Err(e) => bad(e),
    }
}

fn faults(state: &SimState) -> Response {
    let faults: Vec<Value> = state
        .faults
        .read()
        .map(|f| f.iter().map(|r| json!({"spec": r.spec, "fired": r.fired()})).collect())
        .unwrap_or_default();
    json_response(StatusCode::OK, &Value::Array(faults))
}

fn change(state: &SimState, parsed: Value, op: Option<&str>) -> Response {
    let mut change: Change = match serde_json::from_value(parsed) {
        Ok(c) => c,
        Err(e) => return bad(format!("not a change: {e}")),
    };
    if let Some(op) = op {
        change.op = op.to_string();
    }
    match living::apply(state, &change) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => bad(e),
    }
}

/// Moves the clock forward: `{"to": RFC 3339}` or `{"advanceSeconds": N}` (--movable-clock only).
fn move_clock(state: &SimState, body: &Value) -> Response {
    let to = match (body.get("to").and_then(Value::as_str), body.get("advanceSeconds").and_then(Value::as_i64)) {
        (Some(t), _) => match DateTime::parse_from_rfc3339(t) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => return bad(format!("to: not an RFC 3339 time ({e})")),
        },
        (None, Some(s)) => state.clock.now() + chrono::Duration::seconds(s),
        (None, None) => return bad("give \"to\" (RFC 3339) or \"advanceSeconds\""),
    };
    match state.clock.advance_to(to) {
        Ok(now) => json_response(StatusCode::OK, &json!({"now": now})),
        Err(e) => json_response(StatusCode::CONFLICT, &json!({"error": e})),
    }
}

fn revoke(state: &SimState, path: &str) -> Response {
    if let Some(name) = path.strip_prefix("/__sim/tokens/").and_then(|p| p.strip_suffix("/revoke")) {
        return match state.tokens.get(name) {
            Some(t) => {
                t.revoke();
                json_response(StatusCode::OK, &json!({"revoked": name}))
            }
            None => json_response(StatusCode::NOT_FOUND, &json!({"error": "no such token"})),
        };
    }
    if let Some(id) = path.strip_prefix("/__sim/oauth-clients/").and_then(|p| p.strip_suffix("/revoke")) {
        return if state.oauth.revoke(id) {
            json_response(StatusCode::OK, &json!({"revoked": id}))
        } else {
            json_response(StatusCode::NOT_FOUND, &json!({"error": "no such client"}))
        };
    }
    json_response(StatusCode::NOT_FOUND, &json!({"error": "unknown control endpoint"}))
}

pub async fn handle(state: &SimState, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let query = Query::parse(request.uri().query());
    let method = request.method().clone();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap_or_default();
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match (method, path.as_str()) {
        (Method::GET, "/__sim/stats") => json_response(StatusCode::OK, &state.stats()),
        (Method::GET, "/__sim/truth") => truth(state, &query),
        (Method::GET, "/__sim/org") => directory(state),
        (Method::POST, "/__sim/events") => change(state, parsed, Some("sign-ins")),
        (Method::POST, "/__sim/changes") => change(state, parsed, None),
        (Method::POST, "/__sim/churn") => {
            let n = |k: &str| parsed.get(k).and_then(Value::as_u64).unwrap_or(0);
            json_response(StatusCode::OK, &living::burst(state, n("changes"), n("signIns"), n("seed")))
        }
        (Method::GET, "/__sim/clock") => json_response(StatusCode::OK, &json!({"now": state.clock.now()})),
        (Method::POST, "/__sim/clock") => move_clock(state, &parsed),
        (Method::PUT, "/__sim/faults") => set_faults(state, parsed),
        (Method::GET, "/__sim/faults") => faults(state),
        (Method::POST, p) => revoke(state, p),
        _ => json_response(StatusCode::NOT_FOUND, &json!({"error": "unknown control endpoint"})),
    }
}
