//! The access check: one request each to users, apps and the System Log (limit 1), reported in the setup
//! guide's terms ("View users", "View applications", "View System Log") or, for an OAuth app, its scopes.

use super::failure::{CredentialKind, SyncError};
pub(crate) use super::need::Need;
use crate::okta::{ErrorClass, OktaClient};

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
