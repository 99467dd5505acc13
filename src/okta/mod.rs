//! The Okta Management API client: credentials (SSWS tokens, OAuth 2.0 with DPoP), a domain and address
//! guard, explicit proxies, capped bodies, guarded paging, a rate governor per org origin, retries with
//! jittered backoff, deadlines, and typed errors with one classification.

mod addresses;
mod body;
mod client;
mod domain;
mod error;
mod governor;
mod links;
pub(crate) mod oauth;
mod paging;
#[cfg(test)]
mod proptests;
mod registry;
mod token;
mod transport;

pub(crate) use client::{Auth, ClientOptions, OktaClient, RequestObserver};
pub(crate) use domain::{DomainPolicy, OrgUrl};
pub(crate) use error::{ErrorClass, OktaError};
pub(crate) use governor::{Bucket, OrgGovernor};
pub(crate) use paging::Pager;
pub(crate) use registry::GovernorRegistry;
pub(crate) use token::{ApiToken, Fingerprint};
pub(crate) use transport::{ProxySettings, TransportOptions};
