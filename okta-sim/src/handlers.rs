//! The Management API endpoints okta-sim serves, each answering one GET with a page of objects.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use url::form_urlencoded;

use super::errors::OktaError;
use super::events::{Event, EventKind};
use super::objects;
use super::org::{Org, UserStatus};
use super::scim::Filter;
use super::state::SimState;

/// One answer: a JSON body and, for lists, the `after` cursor of the next page.
pub struct Page {
    pub body: Value,
    /// Some(cursor) adds `Link: <...after=cursor>; rel="next"`.
    pub next: Option<String>,
    pub is_list: bool,
}

impl Page {
    fn object(body: Value) -> Page {
        Page { body, next: None, is_list: false }
    }
}

pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        Query(form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect())
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    /// The same query with `after` set to `cursor`, for the next link.
    pub fn with_after(&self, cursor: &str) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.0.iter().filter(|(k, _)| k != "after") {
            out.append_pair(k, v);
        }
        out.append_pair("after", cursor);
        out.finish()
    }
    pub fn encoded(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.0 {
            out.append_pair(k, v);
        }
        out.finish()
    }
}

/// `limit`: a default, a maximum larger values are clamped to, and 400 for what is not a number.
fn limit(q: &Query, default: u64, max: u64) -> Result<u64, OktaError> {
    match q.get("limit") {
        None | Some("") => Ok(default),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok((n as u64).min(max)),
            _ => Err(OktaError::validation("limit", "must be a non-negative integer")),
        },
    }
}

fn cursor(state: &SimState, q: &Query) -> Result<Option<u64>, OktaError> {
    match q.get("after") {
        None | Some("") => Ok(None),
        Some(c) => {
            state.decode_cursor(c).map(Some).ok_or_else(|| OktaError::validation("after", "is not a valid cursor"))
        }
    }
}

fn parse_filter(text: &str, allowed: &[&str]) -> Result<Filter, OktaError> {
    let filter = Filter::parse(text).map_err(|e| OktaError::invalid_search(&e.0))?;
    if let Some(bad) = filter.attributes().into_iter().find(|a| !allowed.contains(a)) {
        return Err(OktaError::invalid_search(&format!("filtering on {bad} is not supported")));
    }
    Ok(filter)
}

/// A page over indices 0..len of a list, keeping those `keep` accepts.
fn page_of(
    state: &SimState,
    q: &Query,
    len: usize,
    (default, max): (u64, u64),
    keep: impl Fn(usize) -> bool,
    render: impl Fn(usize) -> Value,
) -> Result<Page, OktaError> {
    let limit = limit(q, default, max)? as usize;
    let mut i = cursor(state, q)?.unwrap_or(0) as usize;
    let mut items = Vec::new();
    while i < len && items.len() < limit {
        if keep(i) {
            items.push(render(i));
        }
        i += 1;
    }
    // No next link means there is nothing more (Okta pagination).
    let more = (i..len).any(&keep);
    Ok(Page { body: Value::Array(items), next: more.then(|| state.encode_cursor(i as u64)), is_list: true })
}

const USER_ATTRS: &[&str] = &[
    "status",
    "id",
    "profile.login",
    "profile.email",
    "profile.firstName",
    "profile.lastName",
    "type.id",
    "created",
    "lastUpdated",
];

fn user_values(org: &Org, i: usize, attr: &str) -> Vec<String> {
    let u = &org.users[i];
    let v = match attr {
        "status" => u.status.as_str().to_string(),
        "id" => u.id.clone(),
        "profile.login" | "profile.email" => u.login.clone(),
        "profile.firstName" => u.first.to_string(),
        "profile.lastName" => u.last.to_string(),
        "type.id" => "oty1a2b3c4d5e6f7g8h9".into(),
        "created" => objects::timestamp(u.created),
        "lastUpdated" => objects::timestamp(u.created + Duration::days(7)),
        _ => return vec![],
    };
    vec![v]
}

pub fn list_users(state: &SimState, base: &str, q: &Query) -> Result<Page, OktaError> {
    let org = state.org();
    // GET /api/v1/users leaves out DEPROVISIONED users unless filter or search asks (Okta users API "List all users").
    let expr = q.get("search").or(q.get("filter")).filter(|s| !s.is_empty());
    let filter = expr.map(|f| parse_filter(f, USER_ATTRS)).transpose()?;
    let prefix = q.get("q").map(str::to_ascii_lowercase);
    let keep = |i: usize| {
        let u = &org.users[i];
        match (&filter, &prefix) {
            (Some(f), _) => f.matches(&|a| user_values(&org, i, a)),
            (None, Some(p)) => {
                u.status != UserStatus::Deprovisioned
                    && [u.first, u.last, &u.login].iter().any(|s| s.to_ascii_lowercase().starts_with(p.as_str()))
            }
            (None, None) => u.status != UserStatus::Deprovisioned,
        }
    };
    // Users: default and maximum 200 per page.
    page_of(state, q, org.users.len(), (200, 200), keep, |i| objects::user(base, &org.users[i]))
}

pub fn get_user(state: &SimState, base: &str, id: &str) -> Result<Page, OktaError> {
    let org = state.org();
    if id == "me" || id == org.admin.id {
        return Ok(Page::object(objects::user(base, &org.admin)));
    }
    org.user_index(id)
        .or_else(|| org.users.iter().position(|u| u.login == id))
        .map(|u| Page::object(objects::user(base, &org.users[u])))
        .ok_or_else(|| OktaError::not_found(id, "User"))
}

const APP_ATTRS: &[&str] = &["status", "name", "id", "signOnMode", "label"];

pub fn list_apps(state: &SimState, base: &str, q: &Query) -> Result<Page, OktaError> {
    let org = state.org();
    let filter = q.get("filter").filter(|f| !f.is_empty()).map(|f| parse_filter(f, APP_ATTRS)).transpose()?;
    let prefix = q.get("q").map(str::to_ascii_lowercase);
    let keep = |i: usize| {
        let app = &org.apps[i];
        let values = |attr: &str| -> Vec<String> {
            match attr {
                "status" => vec![if app.active { "ACTIVE" } else { "INACTIVE" }.into()],
                "name" => vec![app.name.clone()],
                "id" => vec![app.id.clone()],
                "signOnMode" => vec![app.sign_on_mode.as_str().into()],
                "label" => vec![app.label.clone()],
                _ => vec![],
            }
        };
        // Deleted apps are gone from the list (Okta Apps API: a deleted app is not returned).
        !app.deleted
            && filter.as_ref().is_none_or(|f| f.matches(&values))
            && prefix.as_ref().is_none_or(|p| {
                app.label.to_ascii_lowercase().starts_with(p.as_str()) || app.name.starts_with(p.as_str())
            })
    };
    // Apps: at most 200 per page.
    page_of(state, q, org.apps.len(), (200, 200), keep, |i| objects::app(base, &org.apps[i]))
}

pub fn get_app(state: &SimState, base: &str, id: &str) -> Result<Page, OktaError> {
    let org = state.org();
    let a = org.listed_app(id).ok_or_else(|| OktaError::not_found(id, "AppInstance"))?;
    Ok(Page::object(objects::app(base, &org.apps[a])))
}

pub fn list_app_users(state: &SimState, base: &str, id: &str, q: &Query) -> Result<Page, OktaError> {
    let org = state.org();
    let a = org.listed_app(id).ok_or_else(|| OktaError::not_found(id, "AppInstance"))?;
    let app = &org.apps[a];
    let rows = &org.assignments[a];
    // App users: default 50, maximum 500 per page (Okta Application Users API).
    page_of(
        state,
        q,
        rows.len(),
        (50, 500),
        |_| true,
        |i| {
            let row = &rows[i];
            objects::app_user(base, app, row, &org.users[row.user as usize])
        },
    )
}

pub fn list_app_groups(state: &SimState, base: &str, id: &str, q: &Query) -> Result<Page, OktaError> {
    let org = state.org();
    let a = org.listed_app(id).ok_or_else(|| OktaError::not_found(id, "AppInstance"))?;
    let app = &org.apps[a];
    // Application groups: default 20, maximum 200 per page (Okta Application Groups API).
    page_of(
        state,
        q,
        app.groups.len(),
        (20, 200),
        |_| true,
        |i| objects::app_group(base, app, &org.groups[app.groups[i] as usize], i),
    )
}

pub fn list_groups(state: &SimState, base: &str, q: &Query) -> Result<Page, OktaError> {
    let org = state.org();
    page_of(state, q, org.groups.len(), (200, 10_000), |_| true, |i| objects::group(base, &org.groups[i], i == 0))
}

/// A group's members (listGroupUsers): users of any status, default 1000 per page, as the spec says.
pub fn list_group_users(state: &SimState, base: &str, id: &str, q: &Query) -> Result<Page, OktaError> {
    let org = state.org();
    let g = org.groups.iter().position(|g| g.id == id).ok_or_else(|| OktaError::not_found(id, "UserGroup"))?;
    let members = &org.groups[g].members;
    page_of(state, q, members.len(), (1000, 1000), |_| true, |i| objects::user(base, &org.users[members[i] as usize]))
}

const LOG_ATTRS: &[&str] = &[
    "eventType",
    "outcome.result",
    "outcome.reason",
    "actor.id",
    "actor.type",
    "actor.alternateId",
    "actor.displayName",
    "target.id",
    "target.type",
    "target.alternateId",
    "target.displayName",
    "severity",
    "legacyEventType",
    "uuid",
];

fn event_values(org: &Org, e: &Event, attr: &str) -> Vec<String> {
    let rendered = || objects::log_event(org, e);
    let path = |v: &Value, path: &[&str]| -> Vec<String> {
        let mut node = v;
        for p in path {
            node = &node[*p];
        }
        node.as_str().map(|s| vec![s.to_string()]).unwrap_or_default()
    };
    match attr {
        "eventType" => vec![e.kind.event_type().into()],
        "outcome.result" => vec![if e.success { "SUCCESS" } else { "FAILURE" }.into()],
        "legacyEventType" => {
            if e.kind == EventKind::Sso {
                vec!["app.auth.sso".into()]
            } else {
                vec![]
            }
        }
        a if a.starts_with("target.") => {
            let field = &a["target.".len()..];
            let v = rendered();
            v["target"]
                .as_array()
                .map(|ts| ts.iter().filter_map(|t| t[field].as_str().map(String::from)).collect())
                .unwrap_or_default()
        }
        a => {
            let parts: Vec<&str> = a.split('.').collect();
            path(&rendered(), &parts)
        }
    }
}

fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>, OktaError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| OktaError::validation(field, "must be an ISO 8601 timestamp such as 2026-01-01T00:00:00.000Z"))
}

/// The parameters of a System Log query.
struct LogQuery {
    limit: usize,
    since_ms: i64,
    until_ms: Option<i64>,
    filter: Option<Filter>,
    keywords: Vec<String>,
}

fn log_query(q: &Query, now: DateTime<Utc>) -> Result<LogQuery, OktaError> {
    let limit = match q.get("limit") {
        None | Some("") => 100,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (0..=1000).contains(&n) => n as usize,
            _ => return Err(OktaError::validation("limit", "must be between 0 and 1000")),
        },
    };
    let until = q.get("until").filter(|u| !u.is_empty()).map(|u| parse_time("until", u)).transpose()?;
    let since = match q.get("since").filter(|s| !s.is_empty()) {
        Some(s) => parse_time("since", s)?,
        None => until.unwrap_or(now) - Duration::days(7),
    };
    if since < now - Duration::days(180) {
        return Err(OktaError::since_too_old());
    }
    if until.is_some_and(|u| since > u) {
        return Err(OktaError::validation("since", "must not be later than until"));
    }
    match q.get("sortOrder").unwrap_or("ASCENDING") {
        "ASCENDING" | "" => {}
        // okta-sim serves ascending pages only; Okta also serves DESCENDING bounded queries.
        _ => {
            return Err(OktaError::validation("sortOrder", "okta-sim supports ASCENDING only"));
        }
    }
    let filter = q.get("filter").filter(|f| !f.is_empty()).map(|f| parse_filter(f, LOG_ATTRS)).transpose()?;
    let keywords: Vec<String> =
        q.get("q").unwrap_or_default().split_whitespace().map(str::to_ascii_lowercase).collect();
    if keywords.len() > 10 {
        return Err(OktaError::validation("q", "at most 10 keywords"));
    }
    // The System Log keeps 90 days: older events are gone, not an error (Okta System Log API).
    let since_ms = since.max(now - Duration::days(90)).timestamp_millis();
    Ok(LogQuery { limit, since_ms, until_ms: until.map(|u| u.timestamp_millis()), filter, keywords })
}

/// GET /api/v1/logs. A query with `until` is bounded: ordered by published, finite, the last page has no
/// next link. Without `until` it is a polling query: events in the order Okta stored them (late ones
/// included), and every page, even an empty one, carries a next link
/// (developer.okta.com/docs/reference/system-log-query). `credential` names who polls, so `--truth` and
/// /__sim/truth can be taken as of that client's last caught-up read.
pub fn list_logs(state: &SimState, q: &Query, now: DateTime<Utc>, credential: &str) -> Result<Page, OktaError> {
    let query = log_query(q, now)?;
    let org = state.org();
    let matches = |e: &Event| {
        query.filter.as_ref().is_none_or(|f| f.matches(&|a| event_values(&org, e, a)))
            && (query.keywords.is_empty() || {
                let text = objects::log_event(&org, e).to_string().to_ascii_lowercase();
                query.keywords.iter().all(|k| text.contains(k.as_str()))
            })
    };
    let now_ms = now.timestamp_millis();
    let after = match q.get("after") {
        None | Some("") => None,
        Some(c) => {
            Some(state.decode_position(c).ok_or_else(|| OktaError::validation("after", "is not a valid cursor"))?)
        }
    };
    let (events, next) = match query.until_ms {
        None => {
            let (events, next) = state.log.poll(&org, after, query.since_ms, now_ms, query.limit, &matches);
            if events.len() < query.limit {
                state.caught_up(credential, now_ms);
            }
            (events, Some(next))
        }
        Some(until_ms) => state.log.bounded(&org, after, query.since_ms..until_ms, now_ms, query.limit, &matches),
    };
    Ok(Page {
        body: Value::Array(events.iter().map(|e| objects::log_event(&org, e)).collect()),
        next: next.map(|p| state.encode_position(p)),
        is_list: true,
    })
}
