//! The controller's errors as types: what a reconcile, a write and the operator's start can fail with,
//! each labelled by its real cause for the metrics.

use std::net::SocketAddr;

use super::checkpoint_key::KeyError;
use super::leader::Fenced;

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("object has no namespace")]
    NoNamespace,
    #[error("cannot write status: {0}")]
    StatusWrite(#[source] kube::Error),
    #[error("cannot publish an event: {0}")]
    EventWrite(#[source] kube::Error),
    #[error(transparent)]
    Fenced(#[from] Fenced),
}

/// Why a write of owned objects (OktaApps, checkpoint parts) did not happen.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    /// This replica no longer holds the lease: it must not write.
    #[error(transparent)]
    Fenced(#[from] Fenced),
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

impl WriteError {
    /// Whether trying again soon may succeed: the API server failed (no answer, 409, 429, 5xx), or the
    /// fence lapsed while `key` is still this replica's (a lease round answered late).
    pub(crate) fn passing(&self, fence: &super::fence::Fence, key: &super::shared::IntegrationKey) -> bool {
        match self {
            WriteError::Kube(e) => !super::shared::refused(e),
            WriteError::Fenced(_) => fence.may_reopen_for(key),
        }
    }
}

/// Why the operator stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    #[error("cannot connect to Kubernetes: {0}")]
    Kube(#[from] kube::Error),
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics { addr: SocketAddr, source: std::io::Error },
    #[error("lost the leader lease; exiting so a fresh start can wait for it again")]
    LostLease,
    #[error(transparent)]
    CheckpointKey(#[from] KeyError),
}

/// A short label for a Kubernetes API error: the API's reason (Conflict, Forbidden, ...) or how the
/// request failed to get an answer at all.
fn kube_cause(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() { status.code.to_string() } else { status.reason.clone() };
            reason.to_ascii_lowercase()
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => "transport".into(),
        kube::Error::SerdeError(_) => "decode".into(),
        _ => "other".into(),
    }
}

impl Error {
    /// `<what>_<cause>`: the operation and the nested error's cause, as controller-rs labels errors.
    pub(crate) fn metric_label(&self) -> String {
        match self {
            Error::NoNamespace => "no_namespace".into(),
            Error::StatusWrite(e) => format!("status_write_{}", kube_cause(e)),
            Error::EventWrite(e) => format!("event_write_{}", kube_cause(e)),
            Error::Fenced(_) => "fenced".into(),
        }
    }
}
