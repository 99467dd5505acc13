//! Errors from Okta and from reaching it, and their one classification. Every variant names the endpoint;
//! none carries a credential. Text that came from the server is cleaned and capped when the error is made.

use std::time::Duration;

/// What kind of failure an error is, decided here once for the engine, the CLI and the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    /// Okta rejected the credentials themselves (E0000011, or the token endpoint's invalid_client):
    /// a person has to replace them.
    Credentials,
    /// Okta answered with its own 403 (E0000006, or a missing OAuth scope): a permission is missing.
    Permission,
    /// Worth another try later: 5xx, timeouts, broken connections, rate limits, and 401/403 answers
    /// without Okta's errorCode (a proxy or a load balancer answered, not Okta).
    Transient,
    /// The server sent something no retry will fix: malformed or oversized answers, paging that never
    /// ends, links off the org, or a request Okta refused (4xx with an errorCode).
    Server,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum OktaError {
    /// Okta answered with its error body (errorCode, errorSummary).
    #[error("{endpoint}: HTTP {status} {code}: {summary}")]
    Api { endpoint: String, status: u16, code: String, summary: String },
    /// An error status without Okta's JSON error body (a proxy or load balancer answered).
    #[error("{endpoint}: HTTP {status} without Okta's error body")]
    Status { endpoint: String, status: u16 },
    #[error("{endpoint}: cannot reach Okta: {message}")]
    Transport { endpoint: String, message: String },
    #[error("{endpoint}: no answer within {timeout:?}")]
    Timeout { endpoint: String, timeout: Duration },
    #[error("{endpoint}: the answer is not the JSON Okta sends: {message}")]
    Malformed { endpoint: String, message: String },
    #[error("{endpoint}: the answer is larger than {limit} bytes")]
    TooLarge { endpoint: String, limit: usize },
    #[error("{endpoint}: a link or saved position points outside the org (refused: requests go only to the org)")]
    ForeignLink { endpoint: String },
    #[error("{endpoint}: paging does not end: {detail}")]
    PagingLoop { endpoint: String, detail: String },
    #[error("{endpoint}: {skipped} of {total} records are unusable: {example}")]
    TooManySkipped { endpoint: String, skipped: u64, total: u64, example: String },
    #[error("{endpoint}: still rate limited after {waits} waits for the limit to reset")]
    RateLimited { endpoint: String, waits: u32 },
    /// The OAuth token endpoint refused (RFC 6749 error codes, as Okta words them).
    #[error("{endpoint}: Okta's token endpoint answered {code}: {description}")]
    OAuth { endpoint: String, status: u16, code: String, description: String },
    /// An API answer refused the access token for a missing scope (WWW-Authenticate insufficient_scope).
    #[error("{endpoint}: HTTP 403: the access token lacks the scope {scope}")]
    MissingScope { endpoint: String, scope: String },
    #[error("the sync did not finish within its deadline of {0:?}")]
    Deadline(Duration),
}

impl OktaError {
    pub(crate) fn class(&self) -> ErrorClass {
        match self {
            OktaError::Api { status: 401, .. } => ErrorClass::Credentials,
            OktaError::Api { status: 403, .. } | OktaError::MissingScope { .. } => ErrorClass::Permission,
            OktaError::Api { status, .. } if *status == 429 || *status >= 500 => ErrorClass::Transient,
            OktaError::Api { .. } => ErrorClass::Server,
            OktaError::OAuth { code, status, .. } => match code.as_str() {
                "invalid_client" | "invalid_grant" | "unauthorized_client" => ErrorClass::Credentials,
                "invalid_scope" | "access_denied" => ErrorClass::Permission,
                _ if *status >= 500 || *status == 429 => ErrorClass::Transient,
                "server_error" | "temporarily_unavailable" => ErrorClass::Transient,
                _ => ErrorClass::Server,
            },
            OktaError::Status { .. }
            | OktaError::Transport { .. }
            | OktaError::Timeout { .. }
            | OktaError::RateLimited { .. }
            | OktaError::Deadline(_) => ErrorClass::Transient,
            OktaError::Malformed { .. }
            | OktaError::TooLarge { .. }
            | OktaError::ForeignLink { .. }
            | OktaError::PagingLoop { .. }
            | OktaError::TooManySkipped { .. } => ErrorClass::Server,
        }
    }

    /// Worth retrying within the same request, right away with backoff: server errors, timeouts and
    /// broken connections (a 401/403 without errorCode is left to the next sync, not hammered).
    pub(crate) fn is_retryable_now(&self) -> bool {
        match self {
            OktaError::Api { status, .. } | OktaError::Status { status, .. } => {
                matches!(status, 500 | 502 | 503 | 504)
            }
            OktaError::Transport { .. } | OktaError::Timeout { .. } => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> OktaError {
        OktaError::Api { endpoint: "GET /api/v1/users".into(), status, code: code.into(), summary: String::new() }
    }

    #[test]
    fn every_failure_has_one_class() {
        let oauth = |status, code: &str| OktaError::OAuth {
            endpoint: "POST /oauth2/v1/token".into(),
            status,
            code: code.into(),
            description: String::new(),
        };
        let status = |s| OktaError::Status { endpoint: "GET /api/v1/logs".into(), status: s };
        let cases: Vec<(OktaError, ErrorClass, bool)> = vec![
            (api(401, "E0000011"), ErrorClass::Credentials, false),
            (api(403, "E0000006"), ErrorClass::Permission, false),
            (api(429, "E0000047"), ErrorClass::Transient, false),
            (api(500, "E0000009"), ErrorClass::Transient, true),
            (api(503, "E0000009"), ErrorClass::Transient, true),
            (api(400, "E0000031"), ErrorClass::Server, false),
            (api(404, "E0000007"), ErrorClass::Server, false),
            (status(401), ErrorClass::Transient, false),
            (status(403), ErrorClass::Transient, false),
            (status(502), ErrorClass::Transient, true),
            (oauth(401, "invalid_client"), ErrorClass::Credentials, false),
            (oauth(400, "invalid_scope"), ErrorClass::Permission, false),
            (oauth(400, "invalid_dpop_proof"), ErrorClass::Server, false),
            (oauth(503, "server_error"), ErrorClass::Transient, false),
            (
                OktaError::MissingScope { endpoint: "GET /api/v1/logs".into(), scope: "okta.logs.read".into() },
                ErrorClass::Permission,
                false,
            ),
            (OktaError::Transport { endpoint: "x".into(), message: "reset".into() }, ErrorClass::Transient, true),
            (OktaError::TooLarge { endpoint: "x".into(), limit: 1 }, ErrorClass::Server, false),
            (OktaError::Deadline(Duration::from_secs(1)), ErrorClass::Transient, false),
        ];
        for (error, class, retry) in cases {
            assert_eq!(error.class(), class, "{error}");
            assert_eq!(error.is_retryable_now(), retry, "{error}");
        }
    }
}
