//! The command line and the server's start: flags, building the org, serving until a signal.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;

use crate::auth::{Token, Tokens};
use crate::faults::FaultRule;
use crate::org::{Org, OrgSize};
use crate::ratelimit::{Bucket, RateLimiter, Settings};
use crate::state::SimState;

/// okta-sim: a deterministic Okta org behind Okta's Management API, for tests, demos and benchmarks.
#[derive(Parser, Debug, Clone)]
#[command(name = "okta-sim", version)]
pub struct SimArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on; 0 picks a free one. The address is printed on stdout's first line.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seed of the generated org: one seed, one org.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Size preset: small (~300 users, 25 apps), medium (5,000 / 200), large (50,000 / 1,000, ~2M SSO events
    /// over 30 days), xlarge (10x large). The size flags below override single values.
    #[arg(long, default_value = "small")]
    pub scale: String,
    /// Number of users.
    #[arg(long)]
    pub users: Option<u32>,
    /// Number of app instances.
    #[arg(long)]
    pub apps: Option<u32>,
    /// Number of groups (the first is Everyone).
    #[arg(long)]
    pub groups: Option<u32>,
    /// Days of System Log history before start.
    #[arg(long)]
    pub days: Option<u32>,
    /// Average SSO sign-ins per signing-in user per working day.
    #[arg(long)]
    pub signins_per_user_day: Option<f64>,
    /// An API token and what it may read: NAME=users,apps,logs[,groups] (or =all), optionally
    /// :revoke-after=N. The token's value is NAME. Repeatable. Default: demo=all.
    #[arg(long = "token")]
    pub tokens: Vec<String>,
    /// Disable rate limiting (and the X-Rate-Limit-* headers) for raw-throughput runs.
    #[arg(long)]
    pub no_rate_limit: bool,
    /// Run Okta's rate-limit minute this many times faster.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Override a bucket's per-minute limit: BUCKET=N (apps, app, users, user, groups, logs, other).
    #[arg(long = "rate-limit")]
    pub rate_limits: Vec<String>,
    /// Share of each bucket one token may use (Okta's default 50%).
    #[arg(long, default_value_t = 0.5)]
    pub token_share: f64,
    /// Requests in flight per org before 429s (Okta: 75).
    #[arg(long, default_value_t = 75)]
    pub concurrency_limit: usize,
    /// A fault rule, repeatable: KIND[:rate=P,nth=N,every=N,times=N,path=PREFIX,ms=N] with KIND 500, 502,
    /// 503, 504, 429, latency, slow, reset, malformed. Also settable at runtime: PUT /__sim/faults.
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    /// Write the expected discovery report (ground truth from the generator) to FILE at start.
    #[arg(long)]
    pub truth: Option<std::path::PathBuf>,
    /// Usage window of the --truth report, in days (1d..90d).
    #[arg(long, default_value = "30d")]
    pub usage_window: String,
    /// The System Log is late and out of order: each event becomes visible to a polling query up to this
    /// long after its `published` time (e.g. 3s, 2m); 0 for an immediate, ordered log.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub log_lag: std::time::Duration,
    /// An OAuth 2.0 API service app: CLIENT_ID:KEY_FILE:SCOPE,SCOPE[:nodpop], KEY_FILE its public key as PEM
    /// or a JWKS. DPoP is required unless nodpop. Repeatable.
    #[arg(long = "oauth-client")]
    pub oauth_clients: Vec<String>,
    /// Lifetime of issued access tokens (Okta: one hour).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub oauth_token_lifetime: std::time::Duration,
    /// How often the DPoP nonce changes (Okta: daily; the previous one keeps working one more period).
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    pub dpop_nonce_rotation: std::time::Duration,
    /// Require the server's nonce in API calls' DPoP proofs too (RFC 9449 §9; Okta does not, currently).
    #[arg(long)]
    pub dpop_api_nonce: bool,
    /// Tests: let POST /__sim/clock move the org's time forward (months of history in minutes).
    #[arg(long)]
    pub movable_clock: bool,
    /// Background churn: random assignment, membership, status and sign-in changes per minute.
    #[arg(long, default_value_t = 0.0)]
    pub churn: f64,
    /// Serve this many independent orgs from one process (seeds --seed, --seed+1, ...), one listener
    /// each (ports --port, --port+1, ... or free ones), each with its own rate-limit budget, tokens,
    /// living org and truth: one line per org on stdout, in order. Okta's limits are per org.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub orgs: u32,
}

/// A duration like 500ms, 3s, 2m or 1h.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("{text:?} is not a duration (write 500ms, 3s, 2m or 1h)");
    let (number, unit) = text.find(|c: char| !c.is_ascii_digit()).map(|i| text.split_at(i)).ok_or_else(bad)?;
    let n: u64 = number.parse().map_err(|_| bad())?;
    let ms = match unit {
        "ms" => n,
        "s" => n.saturating_mul(1000),
        "m" => n.saturating_mul(60_000),
        "h" => n.saturating_mul(3_600_000),
        _ => return Err(bad()),
    };
    Ok(std::time::Duration::from_millis(ms))
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Config(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

impl SimArgs {
    pub fn size(&self) -> Result<OrgSize, SimError> {
        let mut size = OrgSize::preset(&self.scale).ok_or_else(|| {
            SimError::Config(format!("unknown --scale {:?}: small, medium, large or xlarge", self.scale))
        })?;
        if let Some(v) = self.users {
            size.users = v
        }
        if let Some(v) = self.apps {
            size.apps = v
        }
        if let Some(v) = self.groups {
            size.groups = v
        }
        if let Some(v) = self.days {
            size.days = v
        }
        if let Some(v) = self.signins_per_user_day {
            size.signins_per_user_day = v
        }
        Ok(size)
    }

    fn window_days(&self) -> Result<u32, SimError> {
        self.usage_window
            .strip_suffix('d')
            .and_then(|d| d.parse().ok())
            .filter(|d| (1..=90).contains(d))
            .ok_or_else(|| SimError::Config(format!("--usage-window {:?}: write 1d..90d", self.usage_window)))
    }

    /// The simulator's state for the org generated from `seed`: the org, its log, tokens, limits and
    /// faults as the other settings say.
    fn build_org(&self, seed: u64) -> Result<SimState, SimError> {
        let size = self.size()?;
        let token_specs = if self.tokens.is_empty() { vec!["demo=all".to_string()] } else { self.tokens.clone() };
        let tokens =
            token_specs.iter().map(|t| Token::parse(t)).collect::<Result<Vec<_>, _>>().map_err(SimError::Config)?;
        let mut limits = HashMap::new();
        for spec in &self.rate_limits {
            let (b, n) = spec
                .split_once('=')
                .ok_or_else(|| SimError::Config(format!("--rate-limit {spec:?}: write BUCKET=N")))?;
            let bucket =
                Bucket::parse(b).ok_or_else(|| SimError::Config(format!("--rate-limit: unknown bucket {b:?}")))?;
            let n = n.parse().map_err(|_| SimError::Config(format!("--rate-limit {spec:?}: N must be a number")))?;
            limits.insert(bucket, n);
        }
        let faults =
            self.faults.iter().map(|f| FaultRule::parse(f)).collect::<Result<Vec<_>, _>>().map_err(SimError::Config)?;
        let limiter = RateLimiter::new(Settings {
            enabled: !self.no_rate_limit,
            limits,
            token_share: self.token_share,
            concurrency: self.concurrency_limit,
            time_scale: self.time_scale,
        });
        let clients = self
            .oauth_clients
            .iter()
            .map(|c| crate::oauth::OAuthClient::parse(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(SimError::Config)?;
        let oauth = crate::oauth::OAuthServer::new(
            clients,
            crate::oauth::OAuthSettings {
                token_lifetime: self.oauth_token_lifetime,
                nonce_rotation: self.dpop_nonce_rotation,
                api_nonce: self.dpop_api_nonce,
            },
        );
        // Start on a whole second, so timestamps derived from it print cleanly.
        let now = chrono::Utc::now();
        let anchor = now - chrono::Duration::nanoseconds(now.timestamp_subsec_nanos() as i64);
        let org = Org::generate(seed, size, anchor);
        let log = crate::events::EventLog::new(&org, self.log_lag.as_millis() as u64);
        let mut state = SimState::new(org, log, Tokens::new(tokens), oauth, limiter, faults);
        state.clock = crate::clock::SimClock::new(self.movable_clock);
        Ok(state)
    }
}

/// Runs okta-sim until SIGINT/SIGTERM, then prints request counts per bucket to stderr.
pub async fn run(args: SimArgs) -> Result<(), SimError> {
    if args.orgs > 1 && args.truth.is_some() {
        return Err(SimError::Config(
            "--truth writes one org's report: with --orgs, ask each org's /__sim/truth".into(),
        ));
    }
    let started = Instant::now();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut servers = Vec::new();
    for i in 0..args.orgs {
        let state = Arc::new(args.build_org(args.seed + u64::from(i))?);
        let port = if args.port == 0 { 0 } else { args.port.saturating_add(i as u16) };
        let addr = format!("{}:{port}", args.host);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|source| SimError::Bind { addr: addr.clone(), source })?;
        let local = listener.local_addr().map_err(SimError::Serve)?;
        if let Some(path) = &args.truth {
            write_truth(&state, &local.to_string(), args.window_days()?, path)?;
        }
        println!("http://{local}");
        if args.orgs == 1 {
            describe(&state, &args, started.elapsed());
        }
        if args.churn > 0.0 {
            tokio::spawn(crate::living::churn(state.clone(), args.churn));
        }
        let app = axum::Router::new().fallback(crate::server::dispatch).with_state(state.clone());
        let mut stopped = stopped.clone();
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|s| *s).await;
        });
        servers.push((state, tokio::spawn(serve.into_future())));
    }
    let _ = std::io::stdout().flush();
    if args.orgs > 1 {
        eprintln!(
            "okta-sim: {} orgs (seeds {}..{}) generated in {:.2}s",
            args.orgs,
            args.seed,
            args.seed + u64::from(args.orgs) - 1,
            started.elapsed().as_secs_f64()
        );
    }
    shutdown_signal().await;
    let _ = stop.send(true);
    for (i, (state, server)) in servers.into_iter().enumerate() {
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(SimError::Serve(e)),
            Err(e) => return Err(SimError::Serve(std::io::Error::other(e))),
        }
        if args.orgs == 1 {
            eprintln!("okta-sim: requests served: {}", state.stats());
        } else {
            eprintln!("okta-sim: org {i}: requests served: {}", state.stats());
        }
    }
    Ok(())
}

fn write_truth(state: &SimState, domain: &str, window_days: u32, path: &std::path::Path) -> Result<(), SimError> {
    let query = crate::truth::TruthQuery {
        domain,
        days: window_days,
        at: state.org().anchor,
        include_okta_apps: false,
        daily: false,
        history: false,
        inactive_after: chrono::Duration::days(60),
        exempt_groups: Vec::new(),
        breakdown: Vec::new(),
    };
    let report = crate::truth::report(state, &query);
    std::fs::write(path, format!("{report:#}\n"))
        .map_err(|source| SimError::Write { path: path.display().to_string(), source })
}

/// One org's size and settings on stderr.
fn describe(state: &SimState, args: &SimArgs, generated_in: std::time::Duration) {
    let (users, apps, groups, days) = {
        let org = state.org();
        (org.users.len(), org.apps.len(), org.groups.len(), org.size.days)
    };
    eprintln!(
        "okta-sim: {users} users, {apps} app instances, {groups} groups, {} log events over {days} days (generated in {:.2}s); log lag up to {:?}; rate limits {}",
        state.log.generated_len(),
        generated_in.as_secs_f64(),
        args.log_lag,
        if args.no_rate_limit { "off".to_string() } else { format!("on (x{} time scale)", args.time_scale) }
    );
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
