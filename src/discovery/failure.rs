//! A failed access check or sync, classified once and worded once: the CLI prints this text, the
//! controller puts it in conditions and events, so both say the same thing about the same failure.

use super::need::Need;
use crate::okta::{ErrorClass, OktaError};

/// Which kind of credentials the integration uses, for advice that fits them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CredentialKind {
    ApiToken,
    OAuth,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncError {
    /// Okta refused the credentials themselves.
    #[error("{}", credentials_message(*.kind, .source))]
    Credentials { kind: CredentialKind, source: OktaError },
    /// The credentials lack a read permission (or scope).
    #[error("{}", permission_message(*.kind, *.need, .source))]
    Permission { kind: CredentialKind, need: Need, source: OktaError },
    /// Anything else: transient (retried later) or a server that misbehaves.
    #[error(transparent)]
    Okta(OktaError),
}

fn credentials_message(kind: CredentialKind, source: &OktaError) -> String {
    match kind {
        CredentialKind::ApiToken => {
            format!("Okta rejected the API token ({source}): create a new token and update the Secret")
        }
        CredentialKind::OAuth => format!(
            "Okta rejected the OAuth client ({source}): check the client ID, that the API service app is active, and that this private key's public key is registered with it (and the key ID, if set)"
        ),
    }
}

fn permission_message(kind: CredentialKind, need: Need, source: &OktaError) -> String {
    match kind {
        CredentialKind::ApiToken if need == Need::Groups => format!(
            "the API token lacks the \"{}\" permission ({source}): spec.reclaim.exemptGroups lists group members; create the token as an admin who may read groups, or remove the exemptions",
            need.guide_name()
        ),
        CredentialKind::ApiToken => format!(
            "the API token lacks the \"{}\" permission ({source}): create the token as an admin with read-only access to users, applications and the System Log",
            need.guide_name()
        ),
        CredentialKind::OAuth => format!(
            "the OAuth app lacks the scope {} ({source}): grant it on the app's Okta API Scopes tab and assign the app a read-only admin role",
            need.scope()
        ),
    }
}

impl SyncError {
    /// Classifies an error met while reading what `need` grants.
    pub(crate) fn classify(kind: CredentialKind, need: Need, error: OktaError) -> SyncError {
        match error.class() {
            ErrorClass::Credentials => SyncError::Credentials { kind, source: error },
            ErrorClass::Permission => {
                SyncError::Permission { kind, need: need_of(&error).unwrap_or(need), source: error }
            }
            ErrorClass::Transient | ErrorClass::Server => SyncError::Okta(error),
        }
    }

    pub(crate) fn class(&self) -> ErrorClass {
        match self {
            SyncError::Credentials { .. } => ErrorClass::Credentials,
            SyncError::Permission { .. } => ErrorClass::Permission,
            SyncError::Okta(e) => e.class(),
        }
    }
}

/// A missing scope names its need, whichever request met it.
fn need_of(error: &OktaError) -> Option<Need> {
    match error {
        OktaError::MissingScope { scope, .. } => {
            Need::ALL.into_iter().chain([Need::Groups]).find(|n| n.scope() == scope)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_wording_per_failure() {
        let invalid = || OktaError::Api {
            endpoint: "GET /api/v1/users".into(),
            status: 401,
            code: "E0000011".into(),
            summary: "Invalid token provided".into(),
        };
        let e = SyncError::classify(CredentialKind::ApiToken, Need::Users, invalid());
        assert!(e.to_string().contains("E0000011") && e.to_string().contains("create a new token"));
        let denied = OktaError::Api {
            endpoint: "GET /api/v1/logs".into(),
            status: 403,
            code: "E0000006".into(),
            summary: "You do not have permission".into(),
        };
        let e = SyncError::classify(CredentialKind::ApiToken, Need::SystemLog, denied);
        assert!(e.to_string().contains("\"View System Log\""), "{e}");
        let scope = OktaError::MissingScope { endpoint: "GET /api/v1/apps".into(), scope: "okta.logs.read".into() };
        let e = SyncError::classify(CredentialKind::OAuth, Need::Applications, scope);
        assert!(matches!(e, SyncError::Permission { need: Need::SystemLog, .. }));
        assert!(e.to_string().contains("lacks the scope okta.logs.read"), "{e}");
        let proxy = OktaError::Status { endpoint: "GET /api/v1/users".into(), status: 401 };
        assert_eq!(SyncError::classify(CredentialKind::ApiToken, Need::Users, proxy).class(), ErrorClass::Transient);
    }
}
