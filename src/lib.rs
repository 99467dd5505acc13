//! dti-operator: discovers every SaaS application an Okta org signs in to, with its usage, and reports it
//! onto `OktaIntegration` resources and the `OktaApp`s they own.
//!
//! The pipeline, one module each, dependencies pointing one way (controller → discovery → okta):
//! [`crd`] (the API types) · `okta` (the HTTP client: credentials, guards, paging, rate governor,
//! retries, errors) · `discovery` (the engine: access check, listings, System Log, aggregation; no
//! Kubernetes inside) · `controller` (the operator; no Okta HTTP inside) · `cli` (the commands).
//! okta-sim, the Okta the tests talk to, is a crate of its own and shares no code with any of these.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod controller;
pub mod crd;
mod discovery;
mod money;
mod okta;
mod sync;
mod text;

/// The `dti-operator` (or, named `kubectl-dti`, the kubectl plugin) command line.
pub async fn main() -> std::process::ExitCode {
    cli::main().await
}
