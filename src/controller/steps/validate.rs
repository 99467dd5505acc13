//! Step 2, validate: the domain against the policy, the spec's sync settings, then access (one request
//! per permission), cached per (org, credentials fingerprint, generation). A transient problem is checked
//! again after a minute; one that needs a person after half an hour, so an Okta incident that looked like
//! one heals by itself. The step takes the last access state and returns the next: it holds no lock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::secret::{Credentials, Material};
use crate::controller::conditions::{Reason, reason_for};
use crate::controller::context::Context;
use crate::controller::events::{EventReason, Notice};
use crate::controller::state::{AccessCheck, AccessFinding, AccessKey, AccessState, Problem};
use crate::crd::{AccessStatus, OktaIntegration, Permission, parse_go_duration, parse_usage_window};
use crate::discovery::{AccessReport, CredentialKind, Need, SyncConfig, SyncError, check_access};
use crate::okta::oauth::OAuthSession;
use crate::okta::{Auth, Fingerprint, OrgUrl};

/// What a sync needs once validation passed.
#[derive(Clone)]
pub(crate) struct Validated {
    pub(crate) org: OrgUrl,
    pub(crate) auth: Auth,
    pub(crate) kind: CredentialKind,
    /// The Secret's credentials as the access check knows them: a job's findings apply only to these.
    pub(crate) fingerprint: Fingerprint,
    /// The spec's sync settings, and its interval.
    pub(crate) config: SyncConfig,
    pub(crate) interval: Duration,
}

/// The sync settings of a spec; an error names the field (the CRD's schema normally prevents it).
pub(crate) fn spec_settings(
    obj: &OktaIntegration,
    origin: &str,
    clock: &crate::discovery::Clock,
) -> Result<(SyncConfig, Duration), String> {
    let spec = &obj.spec;
    let days = parse_usage_window(&spec.usage_window).map_err(|e| format!("spec.usageWindow: {e}"))?;
    let interval = parse_go_duration(&spec.sync_interval).map_err(|e| format!("spec.syncInterval: {e}"))?;
    let refresh = parse_go_duration(&spec.assignments_refresh_interval)
        .map_err(|e| format!("spec.assignmentsRefreshInterval: {e}"))?;
    let inactive_days = crate::crd::parse_inactive_after(&spec.reclaim.inactive_after)
        .map_err(|e| format!("spec.reclaim.inactiveAfter: {e}"))?;
    let config = SyncConfig {
        domain: spec.domain.clone(),
        origin: origin.to_string(),
        window_days: (days.as_secs() / 86_400) as u32,
        event_types: spec.usage.event_types.clone(),
        include_okta_apps: spec.include_okta_apps,
        refresh_interval: refresh,
        keep_logins: spec.reclaim.user_list.is_some(), // opted in to the per-user list, which names users
        breakdown: spec.breakdown.attributes.clone(),
        history: crate::discovery::Retention { months: spec.history.months, weeks: spec.history.weeks },
        reclaim: crate::discovery::reclaim::ReclaimRules {
            inactive_after_ms: i64::from(inactive_days) * 86_400_000,
            exempt_groups: spec.reclaim.exempt_groups.clone(),
        },
        clock: clock.clone(),
    };
    Ok((config, interval))
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
        Reason::InvalidSpec => EventReason::InvalidSpec,
        Reason::InvalidResponse => EventReason::InvalidResponse,
        _ => EventReason::Unreachable,
    };
    Notice::new(true, reason, "ValidateAccess", &p.message)
}

fn permissions(report: &AccessReport) -> AccessStatus {
    let p = |need| {
        if report.granted(need) { Permission::Granted } else { Permission::Denied }
    };
    AccessStatus {
        users: p(Need::Users),
        applications: p(Need::Applications),
        system_log: p(Need::SystemLog),
        secret_resource_version: None,
    }
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
    access: &mut AccessState,
    credentials: &Credentials,
    org: &OrgUrl,
    answer_timeout: std::time::Duration,
) -> Result<Auth, Problem> {
    match &credentials.material {
        Material::Token(token) => Ok(Auth::Ssws(token.clone())),
        Material::OAuth(config) => {
            if let Some((fp, session)) = &access.oauth
                && *fp == credentials.fingerprint
                && session.serves(&org.base)
            {
                return Ok(Auth::OAuth(session.clone()));
            }
            let session = Arc::new(
                OAuthSession::new(config.clone(), &org.base, answer_timeout)
                    .map_err(|e| Problem::new(Reason::PrivateKeyInvalid, e))?,
            );
            access.oauth = Some((credentials.fingerprint, session.clone()));
            Ok(Auth::OAuth(session))
        }
    }
}

/// Whether the cached check still holds for `key`.
fn needs_check(access: &AccessState, key: &AccessKey, ctx: &Context) -> bool {
    let Some(check) = &access.check else {
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

/// Takes the check that status vouches for (made by the replica that held the integration before, or by
/// this operator before a restart) as this replica's own while the generation and the Secret are the ones
/// it was made with: a takeover then costs Okta no requests. A sync that finds otherwise marks it.
fn adopt_vouched(access: &mut AccessState, key: &AccessKey, credentials: &Credentials) {
    let Some(vouched) = access.vouched.take() else {
        return;
    };
    if access.check.is_some()
        || vouched.generation != key.generation
        || credentials.revision.as_deref() != Some(vouched.secret_resource_version.as_str())
    {
        return;
    }
    let granted = Permission::Granted;
    let permissions = AccessStatus {
        users: granted,
        applications: granted,
        system_log: granted,
        secret_resource_version: Some(vouched.secret_resource_version),
    };
    access.check = Some(AccessCheck { key: key.clone(), permissions, problem: None, checked_at: Instant::now() });
}

/// A failed job's finding about its credentials marks their check (a check of other credentials stands).
pub(crate) fn apply_finding(access: &mut AccessState, finding: AccessFinding) {
    let Some(check) = access.check.as_mut().filter(|c| c.key.fingerprint == finding.fingerprint) else {
        return;
    };
    let field = match finding.denied {
        Some(Need::Users) => Some(&mut check.permissions.users),
        Some(Need::Applications) => Some(&mut check.permissions.applications),
        Some(Need::SystemLog) => Some(&mut check.permissions.system_log),
        // Groups are read only for the exemptions: not one of the access check's three.
        Some(Need::Groups) | None => None,
    };
    if let Some(field) = field {
        *field = Permission::Denied;
    }
    check.problem = Some(finding.problem);
    check.checked_at = Instant::now();
}

/// What the step hands on: the access state to keep, the events it announces, and what a sync needs when
/// nothing blocks one.
pub(crate) struct Validation {
    pub(crate) access: AccessState,
    pub(crate) notices: Vec<Notice>,
    pub(crate) validated: Option<Validated>,
}

impl Validation {
    /// Records a precheck problem (or its absence), announcing a change of reason.
    fn precheck(&mut self, problem: Option<Problem>) {
        // A Secret read that failed for a passing reason (an API server outage) is shown, not announced.
        if let Some(p) = &problem
            && p.reason != Reason::SecretUnreadable
            && self.access.precheck.as_ref().map(|q| q.reason) != Some(p.reason)
        {
            self.notices.push(notice_for(Some(p)));
        }
        self.access.precheck = problem;
    }

    fn blocked(mut self, problem: Problem) -> Validation {
        self.precheck(Some(problem));
        self
    }
}

/// Runs the step on the last access state (and a failed job's finding): the next one, and what a sync
/// needs when nothing blocks it.
pub(crate) async fn run(
    ctx: &Context,
    obj: &OktaIntegration,
    mut access: AccessState,
    finding: Option<AccessFinding>,
    secret: Result<Credentials, Problem>,
) -> Validation {
    if let Some(finding) = finding {
        apply_finding(&mut access, finding);
    }
    let mut out = Validation { access, notices: Vec::new(), validated: None };
    let org = match ctx.options.domain_policy.check(&obj.spec.domain) {
        Ok(org) => org,
        Err(e) => return out.blocked(Problem::new(Reason::DomainRejected, e.to_string())),
    };
    let (config, interval) = match spec_settings(obj, &org.origin(), &ctx.options.clock) {
        Ok(settings) => settings,
        Err(e) => return out.blocked(Problem::new(Reason::InvalidSpec, e)),
    };
    let credentials = match secret {
        Ok(c) => c,
        Err(p) => return out.blocked(p),
    };
    out.precheck(None);
    let auth = match auth_for(&mut out.access, &credentials, &org, ctx.options.client_options.request_timeout) {
        Ok(a) => a,
        Err(p) => return out.blocked(p),
    };
    let key = AccessKey {
        origin: org.origin(),
        fingerprint: credentials.fingerprint,
        generation: obj.metadata.generation.unwrap_or(0),
    };
    adopt_vouched(&mut out.access, &key, &credentials);
    if needs_check(&out.access, &key, ctx) {
        let (mut permissions, problem) = check_now(ctx, &org, &auth, credentials.kind()).await;
        permissions.secret_resource_version = credentials.revision.clone();
        let before = out.access.check.as_ref().map(|c| c.problem.as_ref().map(|p| p.reason));
        if before != Some(problem.as_ref().map(|p| p.reason)) {
            out.notices.push(notice_for(problem.as_ref()));
        }
        out.access.check = Some(AccessCheck { key, permissions, problem, checked_at: Instant::now() });
    }
    let (kind, fingerprint) = (credentials.kind(), credentials.fingerprint);
    out.validated = out.access.valid().then(|| Validated { org, auth, kind, fingerprint, config, interval });
    out
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

    mod run {
        use super::super::*;
        use crate::controller::context::Options;
        use crate::controller::steps::secret::{Credentials, Material};
        use crate::controller::testing::{context, integration};
        use crate::okta::ApiToken;

        fn missing() -> Result<Credentials, Problem> {
            Err(Problem::new(Reason::SecretNotFound, "no Secret okta"))
        }

        fn token(fingerprint: u8) -> Result<Credentials, Problem> {
            let token = ApiToken::parse(b"00abcSECRET").expect("a token");
            let revision = Some("7".to_string());
            Ok(Credentials { material: Material::Token(token), fingerprint: Fingerprint([fingerprint; 8]), revision })
        }

        /// An access check of `fingerprint`'s credentials on the test integration's org, just made.
        fn checked(fingerprint: u8) -> AccessState {
            let key = AccessKey {
                origin: "https://acme.okta.com".into(),
                fingerprint: Fingerprint([fingerprint; 8]),
                generation: 1,
            };
            let granted = Permission::Granted;
            let permissions =
                AccessStatus { users: granted, applications: granted, system_log: granted, ..AccessStatus::default() };
            let check = AccessCheck { key, permissions, problem: None, checked_at: Instant::now() };
            AccessState { check: Some(check), ..AccessState::default() }
        }

        fn reason(v: &Validation) -> Option<Reason> {
            v.access.problem().map(|p| p.reason)
        }

        #[tokio::test]
        async fn a_precheck_problem_is_kept_and_announced_once_per_reason() {
            let (ctx, _server) = context(Options::default());
            let obj = integration();
            let first = run(&ctx, &obj, checked(1), None, missing()).await;
            assert!(first.validated.is_none());
            assert_eq!(reason(&first), Some(Reason::SecretNotFound));
            assert_eq!(first.notices.iter().map(|n| n.reason).collect::<Vec<_>>(), vec![EventReason::SecretNotFound]);
            assert!(first.access.check.is_some(), "the last check is kept for when the Secret is back");
            let again = run(&ctx, &obj, first.access, None, missing()).await;
            assert!(again.notices.is_empty(), "the same reason is not announced again");
            // An API server outage is shown, not announced.
            let outage = Err(Problem::new(Reason::SecretUnreadable, "timeout"));
            let unreadable = run(&ctx, &obj, again.access, None, outage).await;
            assert_eq!((reason(&unreadable), unreadable.notices.len()), (Some(Reason::SecretUnreadable), 0));
            // The Secret is back: the cached check of these credentials holds, and no request is made.
            let back = run(&ctx, &obj, unreadable.access, None, token(1)).await;
            assert_eq!(reason(&back), None);
            let validated = back.validated.expect("nothing blocks a sync");
            assert_eq!((validated.config.window_days, validated.interval), (30, Duration::from_secs(3600)));
            // A domain outside the policy is refused before the Secret is looked at.
            let mut elsewhere = integration();
            elsewhere.spec.domain = "acme.example.com".into();
            let refused = run(&ctx, &elsewhere, back.access, None, token(1)).await;
            assert_eq!(reason(&refused), Some(Reason::DomainRejected));
            assert!(refused.validated.is_none());
            // A spec the CRD's schema should have refused (an older CRD): named, and announced as such.
            let mut odd = integration();
            odd.spec.sync_interval = "soon".into();
            let invalid = run(&ctx, &odd, refused.access, None, token(1)).await;
            assert_eq!(reason(&invalid), Some(Reason::InvalidSpec));
            assert!(invalid.access.precheck.as_ref().is_some_and(|p| p.message.contains("spec.syncInterval")));
            assert_eq!(invalid.notices.iter().map(|n| n.reason).collect::<Vec<_>>(), vec![EventReason::InvalidSpec]);
        }

        #[tokio::test]
        async fn a_check_status_vouches_for_is_taken_while_generation_and_secret_are_unchanged() {
            use crate::controller::state::Vouched;
            let (ctx, _server) = context(Options { access_timeout: Duration::from_millis(300), ..Options::default() });
            let obj = integration(); // generation 1; no Okta answers here, so a check made now fails
            let vouched = |generation: i64, revision: &str| AccessState {
                vouched: Some(Vouched { generation, secret_resource_version: revision.into() }),
                ..AccessState::default()
            };
            let taken = run(&ctx, &obj, vouched(1, "7"), None, token(1)).await;
            assert!(taken.validated.is_some(), "a takeover needs no request to Okta");
            assert!(taken.notices.is_empty(), "nothing changed, so nothing is announced");
            let check = taken.access.check.as_ref().expect("the vouched check");
            assert_eq!(check.permissions.secret_resource_version.as_deref(), Some("7"));
            assert!(taken.access.vouched.is_none(), "vouched once, at the first reconcile");
            for (generation, revision) in [(2, "7"), (1, "8")] {
                let checked = run(&ctx, &obj, vouched(generation, revision), None, token(1)).await;
                assert_eq!(reason(&checked), Some(Reason::Unreachable), "checked again: {generation} {revision}");
                let permissions = &checked.access.check.as_ref().expect("a check").permissions;
                assert_eq!(permissions.secret_resource_version.as_deref(), Some("7"), "the Secret it was made with");
            }
        }

        #[tokio::test]
        async fn a_jobs_finding_marks_the_check_of_its_own_credentials_only() {
            let (ctx, _server) = context(Options::default());
            let obj = integration();
            let finding = |fingerprint: u8| AccessFinding {
                fingerprint: Fingerprint([fingerprint; 8]),
                denied: Some(Need::SystemLog),
                problem: Problem::new(Reason::PermissionDenied, "View System Log"),
            };
            let denied = run(&ctx, &obj, checked(1), Some(finding(1)), token(1)).await;
            assert_eq!(reason(&denied), Some(Reason::PermissionDenied));
            assert!(denied.validated.is_none(), "no sync until the permission is back (checked again later)");
            let check = denied.access.check.as_ref().expect("a check");
            assert_eq!(
                (check.permissions.system_log, check.permissions.users),
                (Permission::Denied, Permission::Granted)
            );
            let rotated = run(&ctx, &obj, checked(2), Some(finding(1)), token(2)).await;
            assert!(rotated.validated.is_some(), "a finding about other credentials changes nothing");
        }
    }
}
