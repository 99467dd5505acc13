//! `kubectl dti ui [-n NS | -A] [--port P]`: the HTML report of every integration the caller may read,
//! served on 127.0.0.1 only and read live from the cluster through the caller's own kubeconfig at each
//! request (their RBAC decides what they see; no token of its own, no Okta request, no server in the
//! cluster). Pages reload themselves every minute, so an open page follows the objects as they change.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use minijinja::Environment;
use serde::Serialize;

use crate::crd::OktaIntegration;
use crate::text::clean;

/// Seconds between a page's reloads.
const REFRESH_SECONDS: u32 = 60;

/// What `ui` was asked for.
#[derive(clap::Args, Debug)]
pub(crate) struct UiArgs {
    /// Port on 127.0.0.1 (0: a free one); the address is printed on stdout's first line.
    #[arg(long, default_value_t = 8917)]
    port: u16,
    /// Every namespace the caller may list (default: the namespace of -n or the kubeconfig's).
    #[arg(short = 'A', long)]
    all_namespaces: bool,
}

struct Shared {
    client: kube::Client,
    namespace: Option<String>,
}

#[derive(Serialize)]
struct Line {
    namespace: String,
    name: String,
    domain: String,
    ready: String,
    apps: u64,
    active_users: u64,
    unused_seats: u64,
}

const INDEX: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{{ refresh }}">
<title>dti-operator · integrations</title>
<style>body{font:15px/1.45 system-ui,sans-serif;color:#1b1b1b;max-width:1100px;margin:0 auto;padding:1.5rem}
table{border-collapse:collapse;width:100%}th,td{padding:.3rem .5rem;border-bottom:1px solid #c9c9c9;text-align:left}
td.n{text-align:right}a{color:#1a5fb4}.error{color:#8a1f11}</style></head>
<body><h1>OktaIntegrations</h1>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% else %}
<table><caption>Read live from the cluster with your kubeconfig ({{ scope }})</caption>
<thead><tr><th scope="col">Integration</th><th scope="col">Okta domain</th><th scope="col">Ready</th><th scope="col" class="n">Apps</th><th scope="col" class="n">Active users</th><th scope="col" class="n">Unused seats</th></tr></thead>
<tbody>{% for i in items %}<tr><th scope="row"><a href="/{{ i.namespace }}/{{ i.name }}">{{ i.namespace }}/{{ i.name }}</a></th><td>{{ i.domain }}</td><td>{{ i.ready }}</td><td class="n">{{ i.apps }}</td><td class="n">{{ i.active_users }}</td><td class="n">{{ i.unused_seats }}</td></tr>
{% else %}<tr><td colspan="6">No OktaIntegration here.</td></tr>{% endfor %}</tbody></table>{% endif %}
</body></html>
"#;

fn line(obj: &OktaIntegration) -> Line {
    let status = obj.status.clone().unwrap_or_default();
    let s = status.summary.clone().unwrap_or_default();
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready").map_or("-".to_string(), |c| c.status.clone());
    Line {
        namespace: obj.namespace().unwrap_or_default(),
        name: obj.name_any(),
        domain: clean(&obj.spec.domain, 253),
        ready,
        apps: s.apps,
        active_users: s.active_users,
        unused_seats: s.unused_seats,
    }
}

fn page(template: &str, context: minijinja::Value) -> Result<String, String> {
    let mut env = Environment::new();
    env.add_template("page.html", template).map_err(|e| e.to_string())?;
    env.get_template("page.html").and_then(|t| t.render(context)).map_err(|e| e.to_string())
}

fn refused(e: &kube::Error) -> StatusCode {
    match e {
        kube::Error::Api(s) if s.code == 403 => StatusCode::FORBIDDEN,
        kube::Error::Api(s) if s.code == 404 => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_GATEWAY,
    }
}

async fn index(State(shared): State<Arc<Shared>>) -> (StatusCode, Html<String>) {
    let api: Api<OktaIntegration> = match &shared.namespace {
        Some(ns) => Api::namespaced(shared.client.clone(), ns),
        None => Api::all(shared.client.clone()),
    };
    let scope = shared.namespace.as_deref().map_or("every namespace".to_string(), |ns| format!("namespace {ns}"));
    let (code, items, error) = match api.list(&ListParams::default()).await {
        Ok(list) => (StatusCode::OK, list.items.iter().map(line).collect::<Vec<_>>(), None),
        Err(e) => {
            let why = format!(
                "you may not list OktaIntegrations in {scope}, or the cluster did not answer: {}",
                clean(&e.to_string(), 300)
            );
            (refused(&e), Vec::new(), Some(why))
        }
    };
    let context = minijinja::context! { items, error, scope, refresh => REFRESH_SECONDS };
    match page(INDEX, context) {
        Ok(html) => (code, Html(html)),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Html(super::html::error_page(&e))),
    }
}

async fn integration(
    State(shared): State<Arc<Shared>>,
    Path((namespace, name)): Path<(String, String)>,
) -> (StatusCode, Html<String>) {
    match super::report::fetch(&shared.client, &namespace, &name).await {
        Ok(report) => {
            let contracts = super::contracts::fetch(&shared.client, &namespace, &name).await;
            let extras = super::html::Extras { contracts, refresh: Some(REFRESH_SECONDS) };
            match super::html::render_with(&report, extras) {
                Ok(html) => (StatusCode::OK, Html(html)),
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Html(super::html::error_page(&e))),
            }
        }
        Err(e) => {
            let code = if e.contains("Forbidden") || e.contains("forbidden") {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::NOT_FOUND
            };
            let context = minijinja::context! { items => Vec::<Line>::new(), error => clean(&e, 400), scope => namespace, refresh => REFRESH_SECONDS };
            (code, Html(page(INDEX, context).unwrap_or_default()))
        }
    }
}

pub(crate) async fn run(client: &kube::Client, namespace: &str, args: UiArgs) -> Result<ExitCode, String> {
    let shared =
        Arc::new(Shared { client: client.clone(), namespace: (!args.all_namespaces).then(|| namespace.to_string()) });
    let app =
        axum::Router::new().route("/", get(index)).route("/{namespace}/{name}", get(integration)).with_state(shared);
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("http://{local}");
    eprintln!("kubectl dti ui: serving on http://{local} (127.0.0.1 only; read with your kubeconfig); Ctrl-C stops it");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}
