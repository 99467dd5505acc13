//! The incremental sync the operator's jobs run (discovery::sync with a kept ledger), measured against a
//! running okta-sim: one full sync, then for each N, N new sign-ins appended and one incremental sync.
//! Prints one JSON line per sync. Driven by scripts/bench.py:
//!   cargo bench --bench incremental -- --domain 127.0.0.1:PORT --token demo --events 0,100,1000,10000

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use clap::Parser;
use dti_operator::discovery::{Progress, UsageLedger, sync};
use dti_operator::okta::{ApiToken, ClientOptions, DomainPolicy, OktaClient, OrgGovernor};
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    domain: String,
    #[arg(long)]
    token: String,
    /// New sign-ins to append before each incremental sync.
    #[arg(long, value_delimiter = ',', default_value = "0,100,1000,10000")]
    events: Vec<u64>,
    /// An app label to append sign-ins for.
    #[arg(long, default_value = "Slack")]
    app: String,
    #[arg(long)]
    bench: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let policy = DomainPolicy {
        allowed_suffixes: vec![],
        insecure_allow_http: true,
    };
    let org = policy.check(&args.domain)?;
    let token = ApiToken::new(&args.token).ok_or("empty token")?;
    let options = ClientOptions {
        allow_local: true,
        ..ClientOptions::default()
    };
    let governor = Arc::new(OrgGovernor::new(options.max_in_flight));
    let mut ledger = UsageLedger::default();
    let control = reqwest::Client::new();
    for (round, n) in std::iter::once(None)
        .chain(args.events.iter().copied().map(Some))
        .enumerate()
    {
        if let Some(n) = n.filter(|n| *n > 0) {
            control
                .post(format!("http://{}/__sim/events", args.domain))
                .json(&json!({"app": args.app, "count": n, "users": n.min(50)}))
                .send()
                .await?
                .error_for_status()?;
        }
        let client = OktaClient::new(
            org.clone(),
            token.clone(),
            governor.clone(),
            options.clone(),
        )?;
        let stats_url = format!("http://{}/__sim/stats", args.domain);
        let before: serde_json::Value = control.get(&stats_url).send().await?.json().await?;
        let started = Instant::now();
        let result = sync(&client, &args.domain, 30, &mut ledger, &Progress::default()).await?;
        let seconds = started.elapsed().as_secs_f64();
        let after: serde_json::Value = control.get(&stats_url).send().await?.json().await?;
        let delta = |bucket: &str| {
            after["buckets"][bucket]["requests"].as_u64().unwrap_or(0)
                - before["buckets"][bucket]["requests"].as_u64().unwrap_or(0)
        };
        println!(
            "{}",
            json!({
                "round": round,
                "kind": if n.is_none() { "full" } else { "incremental" },
                "newEvents": n.unwrap_or(0),
                "requests": client.stats().requests.load(Ordering::Relaxed),
                "logRequests": delta("logs"),
                "appRequests": delta("apps"),
                "userRequests": delta("users"),
                "seconds": seconds,
                "eventsRead": result.events_scanned,
                "ssoEvents": result.report.summary.sso_events,
            })
        );
    }
    Ok(())
}
