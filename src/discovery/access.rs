//! The access check: one request each to users, apps and the System Log (limit 1), reported in the setup
//! guide's terms ("View users", "View applications", "View System Log") or, for an OAuth app, its scopes.

use super::failure::{CredentialKind, SyncError};
use crate::okta::{ErrorClass, OktaClient};

/// A read permission the integration needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Need {
    Users,
    Applications,
    SystemLog,
}

impl Need {
    pub(crate) const ALL: [Need; 3] = [Need::Users, Need::Applications, Need::SystemLog];
    /// The permission's name in the setup guide and the Okta Admin Console.
    pub(crate) fn guide_name(self) -> &'static str {
        match self {
            Need::Users => "View users",
            Need::Applications => "View applications",
            Need::SystemLog => "View System Log",
        }
    }
    /// The OAuth 2.0 scope that grants it (developer.okta.com: OAuth 2.0 scopes for Okta APIs).
    pub(crate) fn scope(self) -> &'static str {
        match self {
            Need::Users => "okta.users.read",
            Need::Applications => "okta.apps.read",
            Need::SystemLog => "okta.logs.read",
        }
    }
    fn probe(self) -> &'static str {
        match self {
            Need::Users => "/api/v1/users?limit=1",
            Need::Applications => "/api/v1/apps?limit=1",
            Need::SystemLog => "/api/v1/logs?limit=1",
        }
    }
}

/// Which permissions the credentials hold; a missing one keeps the error that showed it.
#[derive(Debug)]
pub(crate) struct AccessReport {
    pub(crate) denied: Vec<(Need, SyncError)>,
}

impl AccessReport {
    pub(crate) fn granted(&self, need: Need) -> bool {
        !self.denied.iter().any(|(n, _)| *n == need)
    }
}

async fn probe(client: &OktaClient, kind: CredentialKind, need: Need) -> Result<Option<SyncError>, SyncError> {
    match client.get_page(&client.url(need.probe())).await {
        Ok(_) => Ok(None),
        Err(e) => match SyncError::classify(kind, need, e) {
            denied @ SyncError::Permission { .. } => Ok(Some(denied)),
            other => Err(other),
        },
    }
}

/// Checks the three permissions concurrently. Rejected credentials or an unreachable org are errors; a
/// missing permission is a finding.
pub(crate) async fn check_access(client: &OktaClient, kind: CredentialKind) -> Result<AccessReport, SyncError> {
    let (users, apps, logs) = tokio::join!(
        probe(client, kind, Need::Users),
        probe(client, kind, Need::Applications),
        probe(client, kind, Need::SystemLog)
    );
    let mut denied = Vec::new();
    let mut failure: Option<SyncError> = None;
    for result in [users, apps, logs] {
        match result {
            Ok(Some(SyncError::Permission { kind, need, source })) => {
                denied.push((need, SyncError::Permission { kind, need, source }))
            }
            Ok(_) => {}
            // Rejected credentials matter more than a transient failure of another probe.
            Err(e) if failure.as_ref().is_none_or(|f| f.class() != ErrorClass::Credentials) => failure = Some(e),
            Err(_) => {}
        }
    }
    match failure {
        Some(e) => Err(e),
        None => {
            denied.sort_by_key(|(n, _)| *n);
            denied.dedup_by_key(|(n, _)| *n);
            Ok(AccessReport { denied })
        }
    }
}
