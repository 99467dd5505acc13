//! The Okta Management API client: SSWS auth, Link-header paging, a rate governor per org and bucket,
//! retries with jittered backoff, deadlines, and typed errors carrying Okta's errorCode.

pub mod client;
pub mod domain;
pub mod error;
pub mod governor;
pub mod links;
pub mod token;

pub use client::{ClientOptions, OktaClient, RequestStats};
pub use domain::{DomainError, DomainPolicy, OrgUrl};
pub use error::OktaError;
pub use governor::{Bucket, GovernorRegistry, OrgGovernor};
pub use token::ApiToken;
