//! The OktaIntegration CRD against a real kube-apiserver: it installs, accepts the samples, and rejects bad
//! specs with messages that name the field.

mod support;

use dti_operator::crd::{OktaIntegration, crds};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

#[tokio::test]
async fn every_crd_installs_with_server_side_apply_and_is_established() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds() {
        let name = crd.metadata.name.clone().expect("name");
        let applied = api
            .patch(&name, &PatchParams::apply("dti-test").force(), &Patch::Apply(&crd))
            .await
            .expect("server-side apply");
        assert_eq!(applied.spec.group, "dti.dev");
        let status = api.get_status(&name).await.expect("read CRD").status.expect("CRD status");
        let established =
            status.conditions.unwrap_or_default().into_iter().any(|c| c.type_ == "Established" && c.status == "True");
        assert!(established, "{name} not Established");
    }
}

#[tokio::test]
async fn every_example_is_accepted() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "examples").await;
    let dir = support::repo_root().join("examples");
    let mut applied = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let out = cp.kubectl(&["apply", "--server-side", "-n", &ns, "-f", path.to_str().expect("utf-8")], None);
        assert!(out.status.success(), "{} rejected: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        applied += 1;
    }
    assert!(applied >= 2, "expected several examples, found {applied}");
    let list = Api::<OktaIntegration>::namespaced(client, &ns).list(&Default::default()).await.expect("list");
    assert!(!list.items.is_empty());
    for item in list.items {
        // defaults are filled in by the API server
        assert!(!item.spec.sync_interval.is_empty());
        assert!(!item.spec.usage_window.is_empty());
    }
}

/// Applies a spec as kubectl would (server-side apply, strict field validation); returns the server's refusal.
async fn refusal(client: &kube::Client, ns: &str, name: &str, spec: serde_json::Value) -> String {
    let api: Api<OktaIntegration> = Api::namespaced(client.clone(), ns);
    let object =
        json!({"apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration", "metadata": {"name": name}, "spec": spec});
    match api.patch(name, &PatchParams::apply("dti-test").validation_strict(), &Patch::Apply(object)).await {
        Ok(_) => panic!("spec {name} was accepted but must be refused"),
        Err(kube::Error::Api(status)) => status.message,
        Err(other) => panic!("unexpected error for {name}: {other}"),
    }
}

#[tokio::test]
async fn bad_specs_are_rejected_with_a_message_naming_the_field() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "bad-specs").await;
    let creds = json!({"apiToken": {"secretRef": {"name": "okta-token"}}});
    let cases = [
        ("no-domain", json!({"credentials": creds}), vec!["spec.domain", "Required"]),
        (
            "scheme-and-path",
            json!({"domain": "https://acme.okta.com/", "credentials": creds}),
            vec!["spec.domain", "without a scheme", "write acme.okta.com"],
        ),
        (
            "short-interval",
            json!({"domain": "acme.okta.com", "syncInterval": "1m", "credentials": creds}),
            vec!["spec.syncInterval", "at least 5m"],
        ),
        (
            "long-window",
            json!({"domain": "acme.okta.com", "usageWindow": "120d", "credentials": creds}),
            vec!["spec.usageWindow", "90d"],
        ),
        (
            "secretref-without-name",
            json!({"domain": "acme.okta.com", "credentials": {"apiToken": {"secretRef": {"key": "token"}}}}),
            vec!["spec.credentials.apiToken.secretRef.name", "Required"],
        ),
        (
            "too-many-apps",
            json!({"domain": "acme.okta.com", "maxAppsInStatus": 1000, "credentials": creds}),
            vec!["spec.maxAppsInStatus", "100"],
        ),
        (
            "both-credentials",
            json!({"domain": "acme.okta.com", "credentials": {"apiToken": {"secretRef": {"name": "t"}}, "oauth": {"clientId": "0oa1", "privateKey": {"secretRef": {"name": "k"}}}}}),
            vec!["exactly one method"],
        ),
        ("no-credentials", json!({"domain": "acme.okta.com", "credentials": {}}), vec!["exactly one method"]),
        (
            "oauth-without-client",
            json!({"domain": "acme.okta.com", "credentials": {"oauth": {"privateKey": {"secretRef": {"name": "k"}}}}}),
            vec!["clientId", "Required"],
        ),
        (
            "short-refresh",
            json!({"domain": "acme.okta.com", "assignmentsRefreshInterval": "10m", "credentials": creds}),
            vec!["assignmentsRefreshInterval", "at least 1h"],
        ),
        (
            "unknown-field",
            json!({"domain": "acme.okta.com", "colour": "blue", "credentials": creds}),
            vec!["spec.colour"],
        ),
        (
            "cross-namespace-secret",
            json!({"domain": "acme.okta.com", "credentials": {"apiToken": {"secretRef": {"name": "t", "namespace": "kube-system"}}}}),
            vec!["secretRef.namespace"],
        ),
        ("whitespace", json!({"domain": "acme .okta.com", "credentials": creds}), vec!["spec.domain", "whitespace"]),
        ("query", json!({"domain": "acme.okta.com?x=1", "credentials": creds}), vec!["spec.domain", "query"]),
        (
            "bad-interval-syntax",
            json!({"domain": "acme.okta.com", "syncInterval": "hourly", "credentials": creds}),
            vec!["spec.syncInterval"],
        ),
    ];
    let long_name = "a".repeat(64);
    let cases = cases.into_iter().chain([(
        long_name.as_str(),
        json!({"domain": "acme.okta.com", "credentials": creds}),
        vec!["metadata.name", "at most 63", "label"],
    )]);
    for (name, spec, expected) in cases {
        let message = refusal(&client, &ns, name, spec).await;
        for fragment in expected {
            assert!(message.contains(fragment), "{name}: refusal {message:?} does not mention {fragment:?}");
        }
    }
}

#[tokio::test]
async fn good_domains_are_accepted() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "good-domains").await;
    let api: Api<OktaIntegration> = Api::namespaced(client, &ns);
    for (i, domain) in
        ["acme.okta.com", "acme.oktapreview.com", "acme.okta-emea.com", "login.acme.com", "login.acme.com:8443"]
            .into_iter()
            .enumerate()
    {
        let name = format!("d{i}");
        let object = json!({"apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration", "metadata": {"name": name},
            "spec": {"domain": domain, "credentials": {"apiToken": {"secretRef": {"name": "okta-token"}}}}});
        api.patch(&name, &PatchParams::apply("dti-test").validation_strict(), &Patch::Apply(object))
            .await
            .unwrap_or_else(|e| panic!("{domain} refused: {e}"));
    }
}

/// kubectl explain reads the published OpenAPI, which trails the CRD's Established condition by a few seconds.
fn explain(cp: &support::ControlPlane, field: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let out = cp.kubectl(&["explain", field], None);
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "kubectl explain {field}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

#[test]
fn kubectl_explain_shows_the_descriptions() {
    let cp = support::control_plane();
    let credentials = explain(cp, "oktaintegration.spec.credentials");
    assert!(credentials.contains("exactly one method"), "{credentials}");
    assert!(credentials.contains("apiToken"), "{credentials}");
    let secret_ref = explain(cp, "okta.spec.credentials.apiToken.secretRef");
    assert!(secret_ref.contains("same namespace"), "{secret_ref}");
    let domain = explain(cp, "oktaintegration.spec.domain");
    assert!(domain.contains("acme.okta.com"), "{domain}");
    let status = explain(cp, "oktaintegration.status.summary.unusedApps");
    assert!(status.contains("ACTIVE apps with no counted sign-in"), "{status}");
    let oauth = explain(cp, "oktaintegration.spec.credentials.oauth");
    assert!(oauth.contains("clientId") && oauth.contains("privateKey"), "{oauth}");
    let seats = explain(cp, "oktaapp.status.unusedSeats");
    assert!(seats.contains("licences to reclaim"), "{seats}");
    let app = explain(cp, "oktaapp.status");
    for field in ["assignedUsers", "activeUsers", "dailySignIns", "firstSeen", "lastUsed", "signOnMode"] {
        assert!(app.contains(field), "kubectl explain oktaapp.status lacks {field}: {app}");
    }
}
