//! The typed vocabulary of status: condition types, every reason a condition can carry (with whether it
//! needs a person, kstatus's Stalled), and the bookkeeping that keeps a transition time while a status
//! holds. Reasons are spelled here and nowhere else.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use crate::discovery::{CredentialKind, SyncError};
use crate::okta::ErrorClass;

/// The condition types, in the order status lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConditionType {
    Ready,
    AccessValidated,
    Synced,
    /// kstatus: the controller is working toward the desired state (abnormal-true; absent when done).
    Reconciling,
    /// kstatus: the controller cannot progress without a change from the user (abnormal-true).
    Stalled,
}

impl ConditionType {
    pub(crate) const ORDER: [ConditionType; 5] = [
        ConditionType::Ready,
        ConditionType::AccessValidated,
        ConditionType::Synced,
        ConditionType::Reconciling,
        ConditionType::Stalled,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConditionType::Ready => "Ready",
            ConditionType::AccessValidated => "AccessValidated",
            ConditionType::Synced => "Synced",
            ConditionType::Reconciling => "Reconciling",
            ConditionType::Stalled => "Stalled",
        }
    }
}

/// Every reason a condition can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Reason {
    /// AccessValidated=True: the credentials read users, applications and the System Log.
    Valid,
    /// Access has not been checked yet.
    NotChecked,
    /// The referenced Secret does not exist.
    SecretNotFound,
    /// The Secret could not be read for another reason (RBAC, a timeout, the API server).
    SecretUnreadable,
    /// The Secret has no non-empty value under the key.
    SecretKeyMissing,
    /// The Secret's value is not a usable API token (whitespace inside, control characters, not UTF-8).
    SecretValueInvalid,
    /// The Secret's value is not a private key in an accepted format.
    PrivateKeyInvalid,
    /// Okta rejected the API token.
    InvalidToken,
    /// Okta rejected the OAuth client or its key.
    ClientRejected,
    /// The credentials lack a read permission or scope.
    PermissionDenied,
    /// The domain is not one the operator may send credentials to.
    DomainRejected,
    /// A spec value the API server accepted but the operator cannot use (a schema older than this operator).
    InvalidSpec,
    /// Okta could not be reached, or answered like it was down (retried).
    Unreachable,
    /// The server's answers are unusable (malformed, oversized, paging that never ends).
    InvalidResponse,
    /// Synced/Ready: the last sync succeeded.
    Succeeded,
    /// A sync is running.
    InProgress,
    /// Waiting for the first sync to start.
    Pending,
    /// The last sync failed.
    Failed,
    /// The last sync job panicked (a bug): it was cleared and rescheduled.
    SyncPanicked,
    /// spec.suspend is true.
    Suspended,
    /// Ready=False while the last sync failed.
    SyncFailed,
    /// Ready=False / Reconciling=True while the first sync for the spec runs.
    Progressing,
}

impl Reason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Reason::Valid => "Valid",
            Reason::NotChecked => "NotChecked",
            Reason::SecretNotFound => "SecretNotFound",
            Reason::SecretUnreadable => "SecretUnreadable",
            Reason::SecretKeyMissing => "SecretKeyMissing",
            Reason::SecretValueInvalid => "SecretValueInvalid",
            Reason::PrivateKeyInvalid => "PrivateKeyInvalid",
            Reason::InvalidToken => "InvalidToken",
            Reason::ClientRejected => "ClientRejected",
            Reason::PermissionDenied => "PermissionDenied",
            Reason::DomainRejected => "DomainRejected",
            Reason::InvalidSpec => "InvalidSpec",
            Reason::Unreachable => "Unreachable",
            Reason::InvalidResponse => "InvalidResponse",
            Reason::Succeeded => "Succeeded",
            Reason::InProgress => "InProgress",
            Reason::Pending => "Pending",
            Reason::Failed => "Failed",
            Reason::SyncPanicked => "SyncPanicked",
            Reason::Suspended => "Suspended",
            Reason::SyncFailed => "SyncFailed",
            Reason::Progressing => "Progressing",
        }
    }

    /// Whether progress needs a change from a person (kstatus Stalled): the operator still re-checks
    /// these on a slow timer, so an Okta incident that looked like one heals by itself.
    pub(crate) fn stalled(self) -> bool {
        matches!(
            self,
            Reason::SecretNotFound
                | Reason::SecretKeyMissing
                | Reason::SecretValueInvalid
                | Reason::PrivateKeyInvalid
                | Reason::InvalidToken
                | Reason::ClientRejected
                | Reason::PermissionDenied
                | Reason::DomainRejected
                | Reason::InvalidSpec
        )
    }

    /// What a person should do, for the README's table (the condition's message says it in context).
    pub(crate) fn fix(self) -> &'static str {
        match self {
            Reason::Valid | Reason::Succeeded => "nothing",
            Reason::NotChecked | Reason::Pending | Reason::InProgress | Reason::Progressing => {
                "wait: the operator is working on it"
            }
            Reason::SecretNotFound => "create the Secret named in spec.credentials, in the integration's namespace",
            Reason::SecretUnreadable => {
                "let the operator's ServiceAccount get the Secret (RBAC, watchNamespaces); the operator retries"
            }
            Reason::SecretKeyMissing => {
                "put the token or private key under the key spec.credentials names, or change the key"
            }
            Reason::SecretValueInvalid => "store the API token alone, one word, no quotes or line breaks inside",
            Reason::PrivateKeyInvalid => "store the private key as PEM (RSA, or EC P-256/P-384) or as a private JWK",
            Reason::InvalidToken => "create a new API token in the Admin Console and update the Secret",
            Reason::ClientRejected => {
                "check the client ID, that the API service app is active and that this key's public key is registered"
            }
            Reason::PermissionDenied => {
                "give the token's admin (or the OAuth app) read access to users, applications and the System Log"
            }
            Reason::DomainRejected => {
                "fix spec.domain, or allow the custom domain with --allow-domain (Helm: allowedDomains)"
            }
            Reason::InvalidSpec => {
                "fix the field the message names; reinstall the CRD if it is older than the operator"
            }
            Reason::Unreachable => "check network egress, proxy and DNS to Okta; the operator retries",
            Reason::InvalidResponse => {
                "check that the domain is really the Okta org (a proxy or portal may answer); the operator retries"
            }
            Reason::Failed | Reason::SyncFailed => {
                "read the message; the operator retries after --retry-after-failure (5m by default), sooner when spec.syncInterval is shorter"
            }
            Reason::SyncPanicked => "report the bug with the operator's logs; the operator retries",
            Reason::Suspended => "set spec.suspend to false to sync again",
        }
    }

    /// Every reason, for the README's table and its drift test.
    pub(crate) const ALL: [Reason; 22] = [
        Reason::Valid,
        Reason::NotChecked,
        Reason::SecretNotFound,
        Reason::SecretUnreadable,
        Reason::SecretKeyMissing,
        Reason::SecretValueInvalid,
        Reason::PrivateKeyInvalid,
        Reason::InvalidToken,
        Reason::ClientRejected,
        Reason::PermissionDenied,
        Reason::DomainRejected,
        Reason::InvalidSpec,
        Reason::Unreachable,
        Reason::InvalidResponse,
        Reason::Succeeded,
        Reason::InProgress,
        Reason::Pending,
        Reason::Failed,
        Reason::SyncPanicked,
        Reason::Suspended,
        Reason::SyncFailed,
        Reason::Progressing,
    ];
}

/// A condition as compose wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Desired {
    pub(crate) type_: ConditionType,
    pub(crate) status: bool,
    pub(crate) reason: Reason,
    pub(crate) message: String,
}

impl Desired {
    pub(crate) fn new(type_: ConditionType, status: bool, reason: Reason, message: impl Into<String>) -> Desired {
        Desired { type_, status, reason, message: crate::text::message(&message.into()) }
    }
}

/// Builds the conditions list from the desired ones, keeping each transition time while its status holds.
pub(crate) fn merge(
    previous: &[Condition],
    desired: &[Desired],
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    let mut out = Vec::new();
    for type_ in ConditionType::ORDER {
        let Some(d) = desired.iter().find(|d| d.type_ == type_) else {
            continue;
        };
        let status = if d.status { "True" } else { "False" }.to_string();
        let since = previous
            .iter()
            .find(|c| c.type_ == type_.as_str() && c.status == status)
            .map(|c| c.last_transition_time.clone())
            .unwrap_or(Time(now));
        out.push(Condition {
            type_: type_.as_str().to_string(),
            status,
            reason: d.reason.as_str().to_string(),
            message: d.message.clone(),
            observed_generation: generation,
            last_transition_time: since,
        });
    }
    out
}

/// The condition reason for a classified failure: one mapping, used for access checks and sync outcomes.
pub(crate) fn reason_for(error: &SyncError) -> Reason {
    match error {
        SyncError::Credentials { kind: CredentialKind::ApiToken, .. } => Reason::InvalidToken,
        SyncError::Credentials { kind: CredentialKind::OAuth, .. } => Reason::ClientRejected,
        SyncError::Permission { .. } => Reason::PermissionDenied,
        SyncError::Okta(e) if e.class() == ErrorClass::Server => Reason::InvalidResponse,
        SyncError::Okta(_) => Reason::Unreachable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_is_kept_while_status_holds() {
        let t0 = Timestamp::from_second(1_700_000_000).unwrap();
        let t1 = Timestamp::from_second(1_700_000_600).unwrap();
        let ready = |status, reason, message: &str| Desired::new(ConditionType::Ready, status, reason, message);
        let first = merge(&[], &[ready(false, Reason::Progressing, "first sync")], Some(1), t0);
        let same = merge(&first, &[ready(false, Reason::Progressing, "still")], Some(1), t1);
        assert_eq!(same[0].last_transition_time, Time(t0));
        assert_eq!(same[0].message, "still");
        let flipped = merge(&same, &[ready(true, Reason::Succeeded, "ok")], Some(2), t1);
        assert_eq!(flipped[0].last_transition_time, Time(t1));
        assert_eq!(flipped[0].observed_generation, Some(2));
        let with_stalled = merge(
            &[],
            &[
                ready(false, Reason::InvalidToken, ""),
                Desired::new(ConditionType::Stalled, true, Reason::InvalidToken, ""),
            ],
            None,
            t0,
        );
        assert_eq!(with_stalled.len(), 2);
        assert_eq!(merge(&with_stalled, &[ready(true, Reason::Succeeded, "")], None, t1).len(), 1);
    }

    #[test]
    fn every_reason_is_spelled_once_and_says_what_to_do() {
        let mut names: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Reason::ALL.len());
        assert!(Reason::ALL.iter().all(|r| !r.fix().is_empty()));
        let stalled: Vec<&str> = Reason::ALL.iter().filter(|r| r.stalled()).map(|r| r.as_str()).collect();
        assert_eq!(
            stalled,
            [
                "SecretNotFound",
                "SecretKeyMissing",
                "SecretValueInvalid",
                "PrivateKeyInvalid",
                "InvalidToken",
                "ClientRejected",
                "PermissionDenied",
                "DomainRejected",
                "InvalidSpec"
            ]
        );
        assert!(!Reason::SecretUnreadable.stalled() && !Reason::Unreachable.stalled());
    }
}
