//! Errors from Okta and from reaching it. Every variant names the endpoint; none carries the token.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum OktaError {
    /// Okta answered with an error body (errorCode, errorSummary).
    #[error("{endpoint}: HTTP {status} {code}: {summary}")]
    Api {
        endpoint: String,
        status: u16,
        code: String,
        summary: String,
    },
    /// An error status without Okta's JSON error body (a proxy or load balancer answered).
    #[error("{endpoint}: HTTP {status}")]
    Status { endpoint: String, status: u16 },
    #[error("{endpoint}: cannot reach Okta: {message}")]
    Transport { endpoint: String, message: String },
    #[error("{endpoint}: no answer within {timeout:?}")]
    Timeout { endpoint: String, timeout: Duration },
    #[error("{endpoint}: the answer is not the JSON Okta sends: {message}")]
    Malformed { endpoint: String, message: String },
    #[error("{endpoint}: a next link points outside the org ({link})")]
    ForeignLink { endpoint: String, link: String },
    #[error("the sync did not finish within its deadline of {0:?}")]
    Deadline(Duration),
    #[error("the sync was cancelled")]
    Cancelled,
}

impl OktaError {
    /// Okta's errorCode, when Okta sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            OktaError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
    pub fn status(&self) -> Option<u16> {
        match self {
            OktaError::Api { status, .. } | OktaError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
    /// E0000011: the token is invalid, expired or revoked.
    pub fn is_invalid_token(&self) -> bool {
        self.code() == Some("E0000011") || (self.status() == Some(401))
    }
    /// E0000006: the token's admin lacks a permission.
    pub fn is_permission_denied(&self) -> bool {
        self.code() == Some("E0000006") || (self.status() == Some(403))
    }
    /// Worth another try: server errors, timeouts and broken connections.
    pub fn is_transient(&self) -> bool {
        match self {
            OktaError::Api { status, .. } | OktaError::Status { status, .. } => {
                matches!(status, 500 | 502 | 503 | 504)
            }
            OktaError::Transport { .. } | OktaError::Timeout { .. } => true,
            _ => false,
        }
    }
    /// A short label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            OktaError::Api { .. } => "api",
            OktaError::Status { .. } => "status",
            OktaError::Transport { .. } => "transport",
            OktaError::Timeout { .. } => "timeout",
            OktaError::Malformed { .. } => "malformed",
            OktaError::ForeignLink { .. } => "foreign_link",
            OktaError::Deadline(_) => "deadline",
            OktaError::Cancelled => "cancelled",
        }
    }
}
