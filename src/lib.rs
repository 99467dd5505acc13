//! dti-operator: discovers every SaaS application an Okta org signs in to, with its usage, and reports it
//! onto `OktaIntegration` resources.
//!
//! The pipeline, one module each: [`crd`] (the API types) · [`okta`] (the HTTP client) · [`discovery`]
//! (the engine, no Kubernetes inside) · [`controller`] (no Okta HTTP inside). [`sim`] is okta-sim, which
//! shares no code with the client or the engine.

pub mod cli;
pub mod controller;
pub mod crd;
pub mod discovery;
pub mod okta;
pub mod sim;
