//! Tests only: a Context whose Kubernetes client talks to a mocked API server (tower-test), so a write
//! path is checked request by request: which requests, in what order, with what body, and none more.

use std::sync::Arc;

use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

use super::checkpoint_key::CheckpointKey;
use super::context::{Context, Options, Parts};
use super::leader::Fence;
use super::metrics::Metrics;
use super::state::States;
use crate::crd::OktaIntegration;
use crate::okta::GovernorRegistry;

pub(crate) type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

/// A context on a mocked API server, and the server's handle.
pub(crate) fn context(options: Options) -> (Arc<Context>, Handle) {
    context_fenced(options, Fence::open())
}

/// The same, with writes gated by `fence` (a sharded one, say).
pub(crate) fn context_fenced(options: Options, fence: Fence) -> (Arc<Context>, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let states = States::default();
    let governors = Arc::new(GovernorRegistry::default());
    let state_cache = Arc::new(super::state_cache::StateCache::new(options.state_cache));
    let ctx = Context::new(Parts {
        client,
        options,
        metrics: Arc::new(Metrics::new(states.clone(), governors.clone(), 10)),
        states,
        state_cache,
        governors,
        fence,
        instance: "test".into(),
        checkpoint_key: CheckpointKey::of(7),
    });
    (Arc::new(ctx), handle)
}

/// One request the code under test sent: method, path with query, and JSON body (Null when empty).
#[derive(Debug)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) body: Value,
}

/// Waits for the next request and answers it with `status` and what `make` builds from the request.
pub(crate) async fn respond(handle: &mut Handle, status: u16, make: impl FnOnce(&Seen) -> Value) -> Seen {
    // A request that never comes fails the test instead of hanging the suite.
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), handle.next_request()).await;
    let (request, send) = next.expect("a request within 10s").expect("the code under test sends a request");
    let method = request.method().to_string();
    let path = request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let bytes = http_body_util::BodyExt::collect(request.into_body()).await.expect("a request body").to_bytes();
    let seen = Seen { method, path, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    let answer = if status < 300 { make(&seen) } else { status_error(status, reason_of(status)) };
    let response = Response::builder()
        .status(status)
        .body(Body::from(serde_json::to_vec(&answer).expect("json")))
        .expect("a response");
    send.send_response(response);
    seen
}

/// Answers the next request with `status` and `answer`.
pub(crate) async fn answer(handle: &mut Handle, status: u16, answer: Value) -> Seen {
    respond(handle, status, |_| answer).await
}

/// Answers the next request with `status` and the request's own body (what a create or an apply of a
/// whole object returns).
pub(crate) async fn echo(handle: &mut Handle, status: u16) -> Seen {
    respond(handle, status, |seen| seen.body.clone()).await
}

/// Asserts that no request reaches the API server within `quiet` (`what` says what was expected).
pub(crate) async fn assert_nothing_sent(handle: &mut Handle, quiet: std::time::Duration, what: &str) {
    let next = tokio::time::timeout(quiet, handle.next_request()).await;
    assert!(next.is_err(), "{what}");
}

/// The reason the API server gives with a status code (kube's `get_opt` takes only NotFound for absent).
fn reason_of(status: u16) -> &'static str {
    match status {
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        _ => "Refused",
    }
}

/// A successful deletion's answer.
pub(crate) fn deleted() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 200})
}

/// A Kubernetes API error answer.
pub(crate) fn status_error(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": reason, "reason": reason, "code": code})
}

/// An OktaIntegration as the API server would hand it over.
pub(crate) fn integration() -> OktaIntegration {
    serde_json::from_value(json!({
        "apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration",
        "metadata": {"name": "acme", "namespace": "team-a", "uid": "uid-acme", "generation": 1},
        "spec": {"domain": "acme.okta.com", "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}},
    }))
    .expect("an integration")
}
