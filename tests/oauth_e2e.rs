//! OAuth 2.0 service apps end to end on the real control plane: private_key_jwt client credentials with
//! DPoP-bound tokens against okta-sim's token endpoint, nonces rotating during syncs, a missing scope, a
//! revoked client and a private key that cannot be parsed.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::json;
use support::operator::{Operator, apply_integration, condition, events, is_ready, request_sync, wait_for};
use support::sim::Sim;

const WAIT: Duration = Duration::from_secs(120);
const SCOPES: &str = "okta.users.read,okta.apps.read,okta.logs.read";

/// An RSA or EC key pair: (private key PEM, public key file).
fn key_pair(dir: &Path, name: &str, algorithm: &[&str]) -> (String, std::path::PathBuf) {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub.pem"));
    let ok = Command::new("openssl")
        .arg("genpkey")
        .args(algorithm)
        .arg("-out")
        .arg(&private)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(ok.success());
    let ok = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(&public)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(ok.success());
    (std::fs::read_to_string(&private).expect("key"), public)
}

async fn key_secret(client: &Client, ns: &str, name: &str, pem: &str) {
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": name}, "stringData": {"privateKey": pem}})).expect("secret");
    Api::<Secret>::namespaced(client.clone(), ns).create(&PostParams::default(), &secret).await.expect("create secret");
}

fn oauth_spec(sim: &Sim, client_id: &str, secret: &str) -> serde_json::Value {
    json!({"domain": sim.host_port, "maxAppsInStatus": 100,
        "credentials": {"oauth": {"clientId": client_id, "privateKey": {"secretRef": {"name": secret}}}}})
}

#[tokio::test]
async fn an_oauth_service_app_with_dpop_reaches_the_truth_and_each_failure_has_its_reason() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "oauth").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (rsa, rsa_pub) = key_pair(dir.path(), "rsa", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
    let (ec, ec_pub) = key_pair(dir.path(), "ec", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    let clients = [
        format!("0oafull:{}:{SCOPES}", rsa_pub.display()),
        format!("0oanologs:{}:okta.users.read,okta.apps.read", ec_pub.display()),
        format!("0oarevoked:{}:{SCOPES}", ec_pub.display()),
    ];
    // nonces rotate every 2 s and log pages are slow, so each sync spans several rotations
    let mut args = vec![
        "--scale",
        "small",
        "--no-rate-limit",
        "--log-lag",
        "2s",
        "--dpop-nonce-rotation",
        "2s",
        "--fault",
        "latency:path=/api/v1/logs,ms=300",
    ];
    for c in &clients {
        args.extend(["--oauth-client", c.as_str()]);
    }
    let sim = Sim::start(&args);
    let operator = Operator::start(cp, &ns, &[]);
    key_secret(&client, &ns, "rsa-key", &rsa).await;
    key_secret(&client, &ns, "ec-key", &ec).await;
    key_secret(&client, &ns, "garbage", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n").await;

    apply_integration(&client, &ns, "full", oauth_spec(&sim, "0oafull", "rsa-key")).await;
    apply_integration(&client, &ns, "nologs", oauth_spec(&sim, "0oanologs", "ec-key")).await;
    apply_integration(&client, &ns, "revoked", oauth_spec(&sim, "0oarevoked", "ec-key")).await;
    apply_integration(&client, &ns, "badkey", oauth_spec(&sim, "0oafull", "garbage")).await;

    let obj = wait_for(&client, &ns, "full", Duration::from_secs(180), "Ready over OAuth", is_ready).await;
    support::contract::assert_equals_truth(&client, &ns, &sim, &obj, "0oafull").await;
    let obj = request_sync(&client, &ns, "full", "second", WAIT).await;
    support::contract::assert_equals_truth(&client, &ns, &sim, &obj, "0oafull").await;

    let denied = wait_for(&client, &ns, "nologs", WAIT, "PermissionDenied", |o| {
        condition(o, "AccessValidated").is_some_and(|c| c.1 == "PermissionDenied")
    })
    .await;
    let message = condition(&denied, "AccessValidated").expect("condition").2;
    assert!(message.contains("okta.logs.read"), "the missing scope is named: {message}");
    let notes = events(&client, &ns, "nologs").await;
    assert!(notes.iter().any(|e| e.0 == "Warning" && e.2.contains("okta.logs.read")), "{notes:?}");

    wait_for(&client, &ns, "revoked", Duration::from_secs(180), "Ready before the revocation", is_ready).await;
    let answer = reqwest::Client::new()
        .post(format!("{}/__sim/oauth-clients/0oarevoked/revoke", sim.base))
        .send()
        .await
        .expect("revoke");
    assert!(answer.status().is_success());
    let api: Api<dti_operator::crd::OktaIntegration> = Api::namespaced(client.clone(), &ns);
    let patch = json!({"metadata": {"annotations": {"dti.dev/sync-requested-at": "after-revoke"}}});
    api.patch("revoked", &Default::default(), &kube::api::Patch::Merge(patch)).await.expect("annotate");
    let rejected = wait_for(&client, &ns, "revoked", WAIT, "ClientRejected", |o| {
        condition(o, "AccessValidated").is_some_and(|c| c.1 == "ClientRejected")
    })
    .await;
    assert!(rejected.status.as_ref().and_then(|s| s.summary.as_ref()).is_some(), "the last good data stays");

    let bad = wait_for(&client, &ns, "badkey", WAIT, "PrivateKeyInvalid", |o| {
        condition(o, "AccessValidated").is_some_and(|c| c.1 == "PrivateKeyInvalid")
    })
    .await;
    let message = condition(&bad, "AccessValidated").expect("condition").2;
    assert!(message.contains("PEM") && message.contains("JWK"), "the accepted formats are named: {message}");

    // one token for both syncs of the healthy integration: cached, not fetched per sync; two requests to
    // the token endpoint (the first answered use_dpop_nonce, the second granted)
    let tokens_full =
        operator.metric(&format!("dti_oauth_token_requests_total{{namespace=\"{ns}\",name=\"full\"}}")).await;
    assert_eq!(tokens_full, 2.0, "two syncs, one access token (one nonce round trip)");
    let logs = operator.logs();
    for secret in [rsa.lines().nth(1).expect("key line"), ec.lines().nth(1).expect("key line")] {
        assert!(!logs.contains(secret), "a private key reached the logs");
    }
    assert!(!logs.contains("eyJ"), "no JWT (assertion, proof or token) in the logs");
}
