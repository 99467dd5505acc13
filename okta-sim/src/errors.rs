//! Okta's error body: errorCode, errorSummary, errorLink, errorId, errorCauses (Okta error-codes reference).

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::rng::{hash3, okta_id};

pub struct OktaError {
    pub status: StatusCode,
    pub code: &'static str,
    pub summary: String,
    pub causes: Vec<String>,
}

impl OktaError {
    pub fn invalid_token() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "E0000011", "Invalid token provided")
    }
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "E0000006", "You do not have permission to perform the requested action")
    }
    pub fn not_found(what: &str, kind: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "E0000007", &format!("Not found: Resource not found: {what} ({kind})"))
    }
    pub fn validation(field: &str, cause: &str) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "E0000001", &format!("Api validation failed: {field}"));
        e.causes.push(format!("{field}: {cause}"));
        e
    }
    pub fn invalid_search(cause: &str) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "E0000031", "Invalid search criteria.");
        e.causes.push(cause.to_string());
        e
    }
    pub fn since_too_old() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000053",
            "Invalid date. 'since' must be a valid date within the last 180 days.",
        )
    }
    pub fn rate_limited() -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "E0000047", "API call exceeded rate limit due to too many requests.")
    }
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "E0000009", "Internal Server Error")
    }
    pub fn new(status: StatusCode, code: &'static str, summary: &str) -> Self {
        OktaError { status, code, summary: summary.to_string(), causes: Vec::new() }
    }
    pub fn body(&self, request_number: u64) -> Value {
        json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": okta_id("oae", hash3(0, 99, request_number), 0, request_number),
            "errorCauses": self.causes.iter().map(|c| json!({"errorSummary": c})).collect::<Vec<_>>(),
        })
    }
}
