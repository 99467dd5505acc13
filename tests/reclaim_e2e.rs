//! Seats to reclaim and AppContracts on a real API server: the operator's OktaIntegration summary and
//! every OktaApp carry reclaim numbers equal to okta-sim's truth (small and medium); contracts are matched
//! and computed (an app by id and by label in two currencies, a label naming no app, an ambiguous label, a
//! renewal passed), the matched OktaApp shows its contract, and bad contract specs are refused by the CRD
//! with messages naming the field.

mod support;

use std::time::Duration;

use dti_operator::crd::{AppContract, OktaIntegration};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use support::operator::{Operator, apply_integration, create_secret, is_ready, kubectl_dti_text, okta_apps, wait_for};
use support::sim::Sim;

const TIMEOUT: Duration = Duration::from_secs(120);

async fn truth(sim: &Sim) -> Value {
    let url = format!("{}/__sim/truth?window=30d&asOf=demo&inactiveAfter=20d", sim.base);
    reqwest::get(url).await.expect("truth").json().await.expect("json")
}

async fn ready_integration(client: &Client, ns: &str, sim: &Sim) -> OktaIntegration {
    create_secret(client, ns, "okta", "demo").await;
    let spec = json!({"domain": sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}},
        "reclaim": {"inactiveAfter": "20d"}});
    apply_integration(client, ns, "acme", spec).await;
    wait_for(client, ns, "acme", TIMEOUT, "Ready with results", |o| {
        is_ready(o) && o.status.as_ref().is_some_and(|s| s.summary.as_ref().is_some_and(|s| s.reclaim.is_some()))
    })
    .await
}

async fn reclaim_equals_truth(scale: &str) -> (Client, String, Sim, Operator) {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, &format!("reclaim-{scale}")).await;
    let sim = Sim::start(&["--log-lag", "3s", "--scale", scale, "--no-rate-limit"]);
    let operator = Operator::start(cp, &ns, &["--app-writes-per-second", "500"]);
    let obj = ready_integration(&client, &ns, &sim).await;
    let truth = truth(&sim).await;
    let status = serde_json::to_value(obj.status.as_ref().expect("status")).expect("json");
    assert_eq!(status["summary"]["reclaim"], truth["summary"]["reclaim"], "{scale}: summary.reclaim");
    assert_eq!(status["summary"]["reclaimBasis"]["inactiveAfter"], "20d");
    assert!(status.get("reclaimUserList").is_none(), "{scale}: no per-user list unless opted in");
    let secrets = Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), &ns);
    let names: Vec<String> = secrets
        .list(&Default::default())
        .await
        .expect("secrets")
        .items
        .into_iter()
        .filter_map(|s| s.metadata.name)
        .collect();
    assert_eq!(names, ["okta"], "{scale}: no Secret written without the opt-in");
    let apps = okta_apps(&client, &ns, "acme").await;
    for want in truth["apps"].as_array().expect("apps") {
        let id = want["id"].as_str().expect("id");
        let app = apps.get(id).unwrap_or_else(|| panic!("no OktaApp for {id}"));
        let got = serde_json::to_value(app.status.as_ref().expect("status")).expect("json");
        assert_eq!(got["reclaim"], want["reclaim"], "{scale}: reclaim of {id}");
    }
    (client, ns, sim, operator)
}

#[tokio::test]
async fn reclaim_numbers_equal_truth_on_medium() {
    reclaim_equals_truth("medium").await;
}

fn contract(name: &str, app: Value, seats: u64, amount: &str, currency: &str, per: &str, renewal: &str) -> Value {
    json!({"apiVersion": "dti.dev/v1alpha1", "kind": "AppContract", "metadata": {"name": name},
        "spec": {"integration": "acme", "app": app, "seats": seats,
            "price": {"amount": amount, "currency": currency, "per": per}, "renewal": renewal, "owner": "IT"}})
}

async fn wait_contract(
    api: &Api<AppContract>,
    name: &str,
    what: &str,
    done: impl Fn(&AppContract) -> bool,
) -> AppContract {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        if let Ok(c) = api.get(name).await
            && done(&c)
        {
            return c;
        }
        assert!(tokio::time::Instant::now() < deadline, "contract {name}: {what} within {TIMEOUT:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn condition(c: &AppContract, type_: &str) -> Option<(String, String)> {
    let cond = c.status.as_ref()?.conditions.iter().find(|x| x.type_ == type_)?;
    Some((cond.status.clone(), cond.reason.clone()))
}

#[tokio::test]
async fn contracts_are_matched_and_computed_on_small() {
    let (client, ns, sim, _operator) = reclaim_equals_truth("small").await;
    let apps = okta_apps(&client, &ns, "acme").await;
    let mut by_users: Vec<_> = apps.values().filter_map(|a| Some((a, a.status.clone()?))).collect();
    by_users.sort_by_key(|(_, s)| std::cmp::Reverse(s.active_users));
    let (first, first_status) = &by_users[0];
    let (_, second_status) = &by_users[1];
    // Make a label ambiguous: a second app with the second app's label.
    sim.change(json!({"op": "app-add", "label": second_status.label})).await;
    let api: Api<AppContract> = Api::namespaced(client.clone(), &ns);
    let today = chrono::Utc::now().date_naive();
    let soon = (today + chrono::Days::new(30)).to_string();
    let passed = (today - chrono::Days::new(3)).to_string();
    let docs = [
        contract(
            "by-id",
            json!({"id": first.spec.app_id}),
            first_status.active_users + 10,
            "12.50",
            "USD",
            "month",
            &soon,
        ),
        contract("by-label-eur", json!({"label": first_status.label}), 4, "100", "EUR", "year", &passed),
        contract("no-app", json!({"label": "No Such App"}), 5, "1", "USD", "month", &soon),
        contract("ambiguous", json!({"label": second_status.label}), 5, "1", "USD", "month", &soon),
    ];
    for doc in &docs {
        let c: AppContract = serde_json::from_value(doc.clone()).expect("contract");
        api.create(&PostParams::default(), &c).await.expect("create a contract");
    }
    let by_id =
        wait_contract(&api, "by-id", "matched", |c| condition(c, "Matched").is_some_and(|m| m.0 == "True")).await;
    let s = by_id.status.clone().expect("status");
    let seats = s.seats.expect("seats");
    assert_eq!((seats.contracted, seats.active), (first_status.active_users + 10, first_status.active_users));
    assert_eq!(seats.reclaimable, first_status.reclaim.map(|r| r.seats).unwrap_or(0));
    assert_eq!(s.wasted_spend.as_ref().map(|m| m.amount.as_str()), Some("125.00"), "10 idle seats at 12.50");
    assert_eq!(s.renewal_in_days, Some(30));
    assert_eq!(s.observed_generation, by_id.metadata.generation);
    let eur =
        wait_contract(&api, "by-label-eur", "matched", |c| condition(c, "Matched").is_some_and(|m| m.0 == "True"))
            .await;
    let e = eur.status.expect("status");
    assert_eq!(e.cost.as_ref().map(|m| m.display.as_str()), Some("400.00 EUR/year"), "money keeps its currency");
    assert_eq!(e.renewal_in_days, Some(-3), "a renewal passed");
    let none = wait_contract(&api, "no-app", "refused", |c| condition(c, "Matched").is_some()).await;
    assert_eq!(condition(&none, "Matched"), Some(("False".into(), "AppNotFound".into())));
    // The ambiguity appears once the next sync lists the added app.
    let patch = json!({"metadata": {"annotations": {"dti.dev/sync-requested-at": "now"}}});
    let integrations: Api<OktaIntegration> = Api::namespaced(client.clone(), &ns);
    integrations.patch("acme", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("request a sync");
    let amb = wait_contract(&api, "ambiguous", "ambiguous", |c| {
        condition(c, "Matched") == Some(("False".into(), "AmbiguousLabel".into()))
    })
    .await;
    let message = amb.status.as_ref().expect("status").conditions[0].message.clone();
    assert!(message.contains("set spec.app.id"), "{message}");
    // The matched OktaApp shows its contract (one of the two naming it).
    let shown = {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let apps = okta_apps(&client, &ns, "acme").await;
            let c = apps.get(&first.spec.app_id).and_then(|a| a.status.as_ref()?.contract.clone());
            if let Some(c) = c {
                break c;
            }
            assert!(tokio::time::Instant::now() < deadline, "the OktaApp shows its contract");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    assert!(["by-id", "by-label-eur"].contains(&shown.name.as_str()), "{shown:?}");
}

#[tokio::test]
async fn bad_contracts_are_refused_naming_the_field() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "contract-crd").await;
    let gvk = kube::api::GroupVersionKind::gvk("dti.dev", "v1alpha1", "AppContract");
    let resource = kube::api::ApiResource::from_gvk_with_plural(&gvk, "appcontracts");
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), &ns, &resource);
    let cases = [
        (contract("c1", json!({"id": "0oa1"}), 5, "12,50", "USD", "month", "2027-01-01"), "price.amount"),
        (contract("c2", json!({"id": "0oa1"}), 5, "1.5", "usd", "month", "2027-01-01"), "price.currency"),
        (contract("c3", json!({"id": "0oa1"}), 5, "1.5", "USD", "week", "2027-01-01"), "per"),
        (contract("c4", json!({"id": "0oa1"}), 5, "1.5", "USD", "month", "next spring"), "renewal"),
        (contract("c5", json!({"id": "0oa1", "label": "Slack"}), 5, "1.5", "USD", "month", "2027-01-01"), "app"),
        (contract("c6", json!({}), 5, "1.5", "USD", "month", "2027-01-01"), "app"),
    ];
    for (doc, field) in cases {
        let obj: kube::api::DynamicObject = serde_json::from_value(doc).expect("object");
        let err = api.create(&PostParams::default(), &obj).await.expect_err("refused");
        let text = err.to_string();
        assert!(text.contains(field), "{field}: {text}");
    }
}

/// The per-user list's rows in the Secret, gunzip'd and parsed.
async fn list_rows(client: &Client, ns: &str, name: &str) -> Vec<Vec<String>> {
    use std::io::Read;
    let secret =
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), ns).get(name).await.expect("the list");
    let gz = secret.data.as_ref().and_then(|d| d.get("reclaim.csv.gz")).expect("reclaim.csv.gz").0.clone();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).expect("gzip'd CSV");
    assert!(text.lines().next().is_some_and(|h| h.ends_with(",daysSinceLastSignIn,reason,grant")), "{text:.200}");
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    reader.records().map(|r| r.expect("a row").iter().map(str::to_string).collect()).collect()
}

#[tokio::test]
async fn the_per_user_list_is_opt_in_owned_and_read_under_the_callers_rbac() {
    let cp = support::control_plane();
    let client = cp.client().await;
    let ns = cp.namespace(&client, "user-list").await;
    let sim = Sim::start(&["--log-lag", "3s", "--scale", "small", "--no-rate-limit"]);
    let _operator = Operator::start(cp, &ns, &["--app-writes-per-second", "500"]);
    create_secret(&client, &ns, "okta", "demo").await;
    create_secret(&client, &ns, "taken", "someone else's").await;
    let spec = |list: Value| {
        let mut reclaim = json!({"inactiveAfter": "20d"});
        if !list.is_null() {
            reclaim["userList"] = list;
        }
        json!({"domain": sim.host_port, "credentials": {"apiToken": {"secretRef": {"name": "okta"}}}, "reclaim": reclaim})
    };
    // The credentials' own Secret is refused by the CRD.
    let integrations: Api<OktaIntegration> = Api::namespaced(client.clone(), &ns);
    let doc = json!({"apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration", "metadata": {"name": "acme"}, "spec": spec(json!({"secretName": "okta"}))});
    let err = integrations
        .create(&PostParams::default(), &serde_json::from_value(doc).expect("obj"))
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("must name a Secret of its own"), "{err}");

    apply_integration(&client, &ns, "acme", spec(json!({"secretName": "acme-seats"}))).await;
    let obj = wait_for(&client, &ns, "acme", TIMEOUT, "Ready with its list", |o| {
        is_ready(o) && o.status.as_ref().is_some_and(|s| s.reclaim_user_list.is_some())
    })
    .await;
    let truth = truth(&sim).await;
    let want = &truth["summary"]["reclaim"];
    let rows = list_rows(&client, &ns, "acme-seats").await;
    let count = |reason: &str| rows.iter().filter(|r| r[10] == reason).count() as u64;
    assert_eq!(rows.len() as u64, want["seats"].as_u64().expect("seats"), "one row per seat to reclaim");
    assert_eq!(
        (count("leaver"), count("neverUsed"), count("inactive")),
        (
            want["leavers"].as_u64().unwrap_or(0),
            want["neverUsed"].as_u64().unwrap_or(0),
            want["inactive"].as_u64().unwrap_or(0)
        )
    );
    assert!(rows.iter().all(|r| r[1].contains('@')), "opted in: logins are listed");
    let listed = obj.status.as_ref().and_then(|s| s.reclaim_user_list.clone()).expect("status");
    assert_eq!((listed.rows, listed.truncated), (rows.len() as u64, false));

    // kubectl dti reclaim: the admin sees the seats, one app with --app; a reader without Secret access is told why.
    let (ok, out, err) = kubectl_dti_text(cp.kubeconfig_path(), &["reclaim", "acme", "-n", &ns]);
    assert!(ok, "{out}\n{err}");
    let footer = format!(
        "{} seat(s): {} leaver(s), {} never used, {} inactive",
        rows.len(),
        count("leaver"),
        count("neverUsed"),
        count("inactive")
    );
    assert!(out.contains(&footer), "{footer}\n{out}");
    let app = truth["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .find(|a| {
            a["reclaim"]["seats"].as_u64().unwrap_or(0) > 0
                && truth["apps"].as_array().expect("apps").iter().filter(|b| b["label"] == a["label"]).count() == 1
        })
        .expect("an app with seats to reclaim");
    let (ok, out, _) = kubectl_dti_text(
        cp.kubeconfig_path(),
        &["reclaim", "acme", "-n", &ns, "--app", app["label"].as_str().expect("label"), "--format", "csv"],
    );
    assert!(ok);
    assert_eq!(out.lines().count() as u64 - 1, app["reclaim"]["seats"].as_u64().expect("seats"), "{out}");
    cp.kubectl_ok(&["-n", &ns, "create", "serviceaccount", "reader"]);
    cp.kubectl_ok(&["-n", &ns, "create", "role", "reader", "--verb=get,list", "--resource=oktaintegrations.dti.dev"]);
    cp.kubectl_ok(&[
        "-n",
        &ns,
        "create",
        "rolebinding",
        "reader",
        "--role=reader",
        &format!("--serviceaccount={ns}:reader"),
    ]);
    let reader = support::kubeconfig_as(cp, &format!("system:serviceaccount:{ns}:reader"));
    let (ok, _, err) = kubectl_dti_text(&reader, &["reclaim", "acme", "-n", &ns]);
    assert!(
        !ok && err.contains("you may not read Secret") && err.contains("guarded like the Okta credentials"),
        "{err}"
    );

    // Opting out removes the list; a Secret the integration does not own is never written.
    apply_integration(&client, &ns, "acme", spec(Value::Null)).await;
    wait_for(&client, &ns, "acme", TIMEOUT, "the list gone from status", |o| {
        is_ready(o) && o.status.as_ref().is_some_and(|s| s.reclaim_user_list.is_none())
    })
    .await;
    let secrets = Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), &ns);
    assert!(secrets.get_opt("acme-seats").await.expect("get").is_none(), "the opted-out list is deleted");
    let before = secrets.get("taken").await.expect("taken").data;
    apply_integration(&client, &ns, "acme", spec(json!({"secretName": "taken"}))).await;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let refused = support::operator::events_of(&client, &ns, "acme", "UserListFailed").await;
        if !refused.is_empty() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "a UserListFailed event for the foreign Secret");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(secrets.get("taken").await.expect("taken").data, before, "a foreign Secret is left alone");
}
