//! Step 2, validate: the domain against the policy, then access (one request per permission), cached per
//! (org, credentials fingerprint, generation). A transient problem is checked again after a minute; one
//! that needs a person after half an hour, so an Okta incident that looked like one heals by itself.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::secret::{Credentials, Material};
use crate::controller::conditions::{Reason, reason_for};
use crate::controller::context::Context;
use crate::controller::events::{EventReason, Notice};
use crate::controller::state::{AccessCheck, AccessKey, IntegrationState, Problem};
use crate::crd::{AccessStatus, OktaIntegration, Permission};
use crate::discovery::{AccessReport, CredentialKind, Need, SyncError, check_access};
use crate::okta::oauth::OAuthSession;
use crate::okta::{Auth, Fingerprint, OrgUrl};
use crate::sync::lock;

/// What a sync needs once validation passed.
#[derive(Clone)]
pub(crate) struct Validated {
    pub(crate) org: OrgUrl,
    pub(crate) auth: Auth,
    pub(crate) kind: CredentialKind,
    /// The Secret's credentials as the access check knows them: a job's findings apply only to these.
    pub(crate) fingerprint: Fingerprint,
}

/// The event that announces an access problem (or its end).
pub(crate) fn notice_for(problem: Option<&Problem>) -> Notice {
    let Some(p) = problem else {
        return Notice::new(
            false,
            EventReason::AccessValidated,
            "ValidateAccess",
            "the credentials can view users, applications and the System Log",
        );
    };
    let reason = match p.reason {
        Reason::PermissionDenied => EventReason::AccessDenied,
        Reason::InvalidToken => EventReason::InvalidToken,
        Reason::ClientRejected => EventReason::ClientRejected,
        Reason::SecretNotFound => EventReason::SecretNotFound,
        Reason::SecretUnreadable => EventReason::SecretUnreadable,
        Reason::SecretKeyMissing => EventReason::SecretKeyMissing,
        Reason::SecretValueInvalid => EventReason::SecretValueInvalid,
        Reason::PrivateKeyInvalid => EventReason::PrivateKeyInvalid,
        Reason::DomainRejected => EventReason::DomainRejected,
        Reason::InvalidResponse => EventReason::InvalidResponse,
        _ => EventReason::Unreachable,
    };
    Notice::new(true, reason, "ValidateAccess", &p.message)
}

fn permissions(report: &AccessReport) -> AccessStatus {
    let p = |need| {
        if report.granted(need) { Permission::Granted } else { Permission::Denied }
    };
    AccessStatus { users: p(Need::Users), applications: p(Need::Applications), system_log: p(Need::SystemLog) }
}

/// The AccessValidated problem a finished check shows, if any.
pub(crate) fn interpret(result: Result<AccessReport, SyncError>) -> (AccessStatus, Option<Problem>) {
    match result {
        Err(e) => (AccessStatus::default(), Some(Problem::new(reason_for(&e), e.to_string()))),
        Ok(report) => {
            let status = permissions(&report);
            let problem = report.denied.first().map(|(_, first)| {
                let others: Vec<&str> = report.denied.iter().skip(1).map(|(n, _)| n.guide_name()).collect();
                let also =
                    if others.is_empty() { String::new() } else { format!("; it also lacks {}", others.join(" and ")) };
                Problem::new(Reason::PermissionDenied, format!("{first}{also}"))
            });
            (status, problem)
        }
    }
}

/// The Auth for the credentials, keeping an OAuth session (DPoP key, cached token) while they hold.
/// A session is kept only for the same credentials on the same org (its token URL and audience are the org's).
fn auth_for(
    st: &mut IntegrationState,
    credentials: &Credentials,
    org: &OrgUrl,
    answer_timeout: std::time::Duration,
) -> Result<Auth, Problem> {
    match &credentials.material {
        Material::Token(token) => Ok(Auth::Ssws(token.clone())),
        Material::OAuth(config) => {
            if let Some((fp, session)) = &st.oauth
                && *fp == credentials.fingerprint
                && session.serves(&org.base)
            {
                return Ok(Auth::OAuth(session.clone()));
            }
            let session = Arc::new(
                OAuthSession::new(config.clone(), &org.base, answer_timeout)
                    .map_err(|e| Problem::new(Reason::PrivateKeyInvalid, e))?,
            );
            st.oauth = Some((credentials.fingerprint, session.clone()));
            Ok(Auth::OAuth(session))
        }
    }
}

/// Whether the cached check still holds for `key`.
fn needs_check(st: &IntegrationState, key: &AccessKey, ctx: &Context) -> bool {
    let Some(check) = &st.access else {
        return true;
    };
    if check.key != *key {
        return true;
    }
    match &check.problem {
        None => false,
        Some(p) if p.reason.stalled() => check.checked_at.elapsed() >= ctx.options.stalled_recheck,
        Some(_) => check.checked_at.elapsed() >= ctx.options.transient_recheck,
    }
}

/// Records a precheck problem (or its absence), announcing a change of reason.
fn set_precheck(st: &mut IntegrationState, problem: Option<Problem>) {
    // A Secret read that failed for a passing reason (an API server outage) is shown, not announced.
    if let Some(p) = &problem
        && p.reason != Reason::SecretUnreadable
        && st.precheck.as_ref().map(|q| q.reason) != Some(p.reason)
    {
        st.notify(notice_for(Some(p)));
    }
    st.precheck = problem;
}

/// Runs the step: None while something blocks syncing (the state says what).
pub(crate) async fn run(
    ctx: &Context,
    obj: &OktaIntegration,
    state: &Arc<Mutex<IntegrationState>>,
    secret: Result<Credentials, Problem>,
) -> Option<Validated> {
    let org = match ctx.options.domain_policy.check(&obj.spec.domain) {
        Ok(org) => org,
        Err(e) => {
            set_precheck(&mut lock(state), Some(Problem::new(Reason::DomainRejected, e.to_string())));
            return None;
        }
    };
    let credentials = match secret {
        Ok(c) => c,
        Err(p) => {
            set_precheck(&mut lock(state), Some(p));
            return None;
        }
    };
    let key = AccessKey {
        origin: org.origin(),
        fingerprint: credentials.fingerprint,
        generation: obj.metadata.generation.unwrap_or(0),
    };
    let (auth, check) = {
        let mut st = lock(state);
        set_precheck(&mut st, None);
        let auth = match auth_for(&mut st, &credentials, &org, ctx.options.client_options.request_timeout) {
            Ok(a) => a,
            Err(p) => {
                set_precheck(&mut st, Some(p));
                return None;
            }
        };
        (auth, needs_check(&st, &key, ctx))
    };
    if check {
        let (permissions, problem) = check_now(ctx, &org, &auth, credentials.kind()).await;
        let mut st = lock(state);
        let before = st.access.as_ref().map(|c| c.problem.as_ref().map(|p| p.reason));
        if before != Some(problem.as_ref().map(|p| p.reason)) {
            st.notify(notice_for(problem.as_ref()));
        }
        st.access = Some(AccessCheck { key, permissions, problem, checked_at: Instant::now() });
    }
    let st = lock(state);
    st.access_valid().then(|| Validated { org, auth, kind: credentials.kind(), fingerprint: credentials.fingerprint })
}

async fn check_now(ctx: &Context, org: &OrgUrl, auth: &Auth, kind: CredentialKind) -> (AccessStatus, Option<Problem>) {
    let timeout = ctx.options.access_timeout;
    let client = match ctx.okta_client(org.clone(), auth.clone()) {
        Ok(c) => c,
        Err(e) => {
            return (AccessStatus::default(), Some(Problem::new(Reason::Unreachable, e.to_string())));
        }
    };
    match tokio::time::timeout(timeout, check_access(&client, kind)).await {
        Ok(result) => interpret(result),
        Err(_) => (
            AccessStatus::default(),
            Some(Problem::new(Reason::Unreachable, format!("Okta did not answer the access check within {timeout:?}"))),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::okta::OktaError;

    fn api(status: u16, code: &str) -> OktaError {
        OktaError::Api { endpoint: "GET /api/v1/logs".into(), status, code: code.into(), summary: "s".into() }
    }

    #[test]
    fn failures_map_to_one_reason_each() {
        let classify = |kind, e| reason_for(&SyncError::classify(kind, Need::SystemLog, e));
        let cases = [
            (CredentialKind::ApiToken, api(401, "E0000011"), Reason::InvalidToken),
            (CredentialKind::OAuth, api(401, "E0000011"), Reason::ClientRejected),
            (CredentialKind::ApiToken, api(403, "E0000006"), Reason::PermissionDenied),
            (CredentialKind::ApiToken, api(503, "E0000009"), Reason::Unreachable),
            (CredentialKind::ApiToken, api(400, "E0000031"), Reason::InvalidResponse),
            (CredentialKind::ApiToken, OktaError::Status { endpoint: "x".into(), status: 403 }, Reason::Unreachable),
            (
                CredentialKind::OAuth,
                OktaError::OAuth {
                    endpoint: "x".into(),
                    status: 401,
                    code: "invalid_client".into(),
                    description: String::new(),
                },
                Reason::ClientRejected,
            ),
            (CredentialKind::ApiToken, OktaError::TooLarge { endpoint: "x".into(), limit: 1 }, Reason::InvalidResponse),
        ];
        for (kind, error, reason) in cases {
            let text = error.to_string();
            assert_eq!(classify(kind, error), reason, "{text}");
        }
    }

    #[test]
    fn a_denied_permission_is_named() {
        let denied = |need| (need, SyncError::classify(CredentialKind::ApiToken, need, api(403, "E0000006")));
        let (status, problem) =
            interpret(Ok(AccessReport { denied: vec![denied(Need::SystemLog), denied(Need::Users)] }));
        assert_eq!(status.system_log, Permission::Denied);
        assert_eq!(status.users, Permission::Denied);
        assert_eq!(status.applications, Permission::Granted);
        let p = problem.unwrap();
        assert_eq!(p.reason, Reason::PermissionDenied);
        assert!(
            p.message.contains("\"View System Log\"") && p.message.contains("also lacks View users"),
            "{}",
            p.message
        );
        let (_, none) = interpret(Ok(AccessReport { denied: vec![] }));
        assert!(none.is_none());
    }
}
