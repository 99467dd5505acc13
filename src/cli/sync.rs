//! `dti-operator sync`: the product without a cluster.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::output;
use crate::discovery::{Access, DiscoveryError, Need, Progress, check_access, discover};
use crate::okta::{ApiToken, ClientOptions, DomainPolicy, OktaClient, OrgGovernor};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// The Okta domain, host[:port], e.g. acme.okta.com.
    #[arg(long)]
    pub domain: String,
    /// A file holding the API token (else the environment variable OKTA_API_TOKEN).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Usage window in days, 1d..90d.
    #[arg(long, default_value = "30d")]
    pub usage_window: String,
    /// Also allow this domain suffix (for a custom Okta domain such as login.acme.com: --allow-domain acme.com).
    #[arg(long = "allow-domain")]
    pub allow_domain: Vec<String>,
    /// Development and tests only: allow http and loopback addresses.
    #[arg(long)]
    pub insecure_allow_http: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Give up when the whole sync takes longer than this (e.g. 90m, 4h).
    #[arg(long, default_value = "6h")]
    pub timeout: String,
    /// Deadline of a single request to Okta.
    #[arg(long, default_value = "30s")]
    pub request_timeout: String,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

fn read_token(args: &SyncArgs) -> Result<ApiToken, String> {
    let raw = match &args.token_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --token-file {}: {e}", path.display()))?,
        None => std::env::var("OKTA_API_TOKEN").map_err(|_| {
            "no API token: pass --token-file FILE or set OKTA_API_TOKEN".to_string()
        })?,
    };
    ApiToken::new(&raw).ok_or_else(|| "the API token is empty".to_string())
}

pub async fn run(args: SyncArgs) -> ExitCode {
    let days = match crate::crd::parse_usage_window(&args.usage_window) {
        Ok(w) => (w.as_secs() / 86_400) as u32,
        Err(e) => return fail(e),
    };
    let (timeout, request_timeout) = match (
        crate::crd::parse_go_duration(&args.timeout),
        crate::crd::parse_go_duration(&args.request_timeout),
    ) {
        (Ok(t), Ok(r)) => (t, r),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    let policy = DomainPolicy {
        allowed_suffixes: args.allow_domain.clone(),
        insecure_allow_http: args.insecure_allow_http,
    };
    let org = match policy.check(&args.domain) {
        Ok(org) => org,
        Err(e) => return fail(e),
    };
    if args.insecure_allow_http {
        eprintln!(
            "WARNING: --insecure-allow-http: loopback and plain http are allowed; never use this against a real Okta org"
        );
    }
    let token = match read_token(&args) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let options = ClientOptions {
        request_timeout,
        allow_local: args.insecure_allow_http,
        ..ClientOptions::default()
    };
    let client = match OktaClient::new(
        org,
        token,
        Arc::new(OrgGovernor::new(options.max_in_flight)),
        options,
    ) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    // Access first, one request per permission, reported in the setup guide's terms.
    match check_access(&client).await {
        Err(e) if e.is_invalid_token() => {
            return fail(format!(
                "Okta rejected the API token ({e}): create a new token"
            ));
        }
        Err(e) => return fail(format!("cannot check access: {e}")),
        Ok(access) => {
            let line: Vec<String> = Need::ALL
                .iter()
                .map(|n| {
                    let state = if matches!(access.get(*n), Access::Granted) {
                        "Granted"
                    } else {
                        "Denied"
                    };
                    format!("{}: {state}", n.guide_name())
                })
                .collect();
            eprintln!("access: {}", line.join(", "));
            if let Some(need) = access.denied().first() {
                let cause = match access.get(*need) {
                    Access::Denied(e) => e.to_string(),
                    Access::Granted => String::new(),
                };
                return fail(lacks_permission(*need, &cause));
            }
        }
    }
    let progress = Arc::new(Progress::default());
    let ticker = std::io::stderr()
        .is_terminal()
        .then(|| tokio::spawn(show_progress(progress.clone())));
    let result =
        tokio::time::timeout(timeout, discover(&client, &args.domain, days, &progress)).await;
    if let Some(t) = ticker {
        t.abort();
        eprint!("\r\x1b[2K");
    }
    let discovery = match result {
        Err(_) => {
            return fail(format!(
                "the sync did not finish within --timeout {}",
                args.timeout
            ));
        }
        Ok(Err(e)) => return fail(describe(&e)),
        Ok(Ok(d)) => d,
    };
    let text = match args.format {
        Format::Json => output::json(&discovery.report),
        Format::Csv => output::csv(&discovery.report),
        Format::Table => output::table(&discovery.report),
    };
    print!("{text}");
    let stats = client.stats();
    eprintln!(
        "sync: {} requests ({} retried, {} rate-limited, {:.1}s waiting for rate limits), {} users, {} events read",
        stats.requests.load(Ordering::Relaxed),
        stats.retries.load(Ordering::Relaxed),
        stats.rate_limited.load(Ordering::Relaxed),
        stats.rate_limit_wait().as_secs_f64(),
        discovery.users_scanned,
        discovery.events_scanned
    );
    ExitCode::SUCCESS
}

fn lacks_permission(need: Need, cause: &str) -> String {
    format!(
        "the API token lacks the \"{}\" permission: {cause}. Create the token as an admin who can {}.",
        need.guide_name(),
        need.guide_name().to_lowercase()
    )
}

/// One line that says what went wrong and what to do; Okta's errorCode stays in it.
fn describe(e: &DiscoveryError) -> String {
    match e {
        DiscoveryError::PermissionDenied { need, source } => {
            lacks_permission(*need, &source.to_string())
        }
        other => other.to_string(),
    }
}

async fn show_progress(progress: Arc<Progress>) {
    loop {
        eprint!(
            "\r\x1b[2Kreading Okta: apps {}/{} · users {} · sign-in events {}",
            progress.apps_done.load(Ordering::Relaxed),
            progress.apps_total.load(Ordering::Relaxed),
            progress.users.load(Ordering::Relaxed),
            progress.events.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
