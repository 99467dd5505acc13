//! `dti-operator sync`: the product without a cluster, one sync against one org.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::Args;

use super::common::OktaArgs;
use super::output::Format;
use crate::crd::{
    DEFAULT_OAUTH_SCOPES, DEFAULT_SIGN_IN_EVENT_TYPES, duration_arg, inactive_after_arg, window_days_arg,
};
use crate::discovery::checkpoint::{self, Seal};
use crate::discovery::reclaim::ReclaimRules;
use crate::discovery::{self, AccessReport, Clock, CredentialKind, Need, OrgState, Progress, Retention, SyncConfig};
use crate::okta::oauth::{OAuthConfig, OAuthSession, SigningKey, keys::ACCEPTED_FORMATS};
use crate::okta::{ApiToken, Auth, OktaClient, OrgGovernor, OrgUrl};

#[derive(Args, Debug)]
pub(crate) struct SyncArgs {
    /// The Okta domain, host[:port], e.g. acme.okta.com.
    #[arg(long)]
    pub(crate) domain: String,
    #[command(flatten)]
    pub(crate) okta: OktaArgs,
    /// A file holding the API token (else the environment variable OKTA_API_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,
    /// The API token: from the environment variable OKTA_API_TOKEN only (a flag value would show in ps).
    #[arg(long = "api-token", env = "OKTA_API_TOKEN", hide = true, hide_env_values = true)]
    pub(crate) api_token: Option<String>,
    /// OAuth 2.0: the API service app's client ID (with --private-key-file).
    #[arg(long, requires = "private_key_file", conflicts_with = "token_file")]
    pub(crate) client_id: Option<String>,
    /// OAuth 2.0: the app's private key, PEM (RSA or EC) or a private JWK.
    #[arg(long, value_name = "FILE", requires = "client_id")]
    pub(crate) private_key_file: Option<PathBuf>,
    /// OAuth 2.0: the key ID registered with the public key.
    #[arg(long)]
    pub(crate) key_id: Option<String>,
    /// OAuth 2.0: a scope to request (repeatable; default the three read scopes).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub(crate) scopes: Vec<String>,
    /// Usage window in days, 1d..90d.
    #[arg(long, default_value = "30d", value_parser = window_days_arg, value_name = "DAYS")]
    pub(crate) usage_window: u32,
    /// An event type that counts as a sign-in (repeatable; default: SSO, RADIUS, OIDC, Office 365 rich client).
    #[arg(long = "usage-event-type", value_name = "TYPE")]
    pub(crate) event_types: Vec<String>,
    /// Also list Okta's own apps and OAuth service clients (marked builtIn).
    #[arg(long)]
    pub(crate) include_okta_apps: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Write one CSV row per assignment to FILE, for licence reclaim: user, app, grant, statuses, when
    /// assigned, last sign-in in the window, days since the last one ever observed, and the reason to
    /// reclaim the seat (always a full scan:
    /// logins are never checkpointed).
    #[arg(long, value_name = "FILE")]
    pub(crate) per_user: Option<PathBuf>,
    /// Resume from the sync state in FILE (if it exists) and save the new state there: later runs read
    /// only new System Log events and the apps they touch.
    #[arg(long, value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
    /// With --state: sign the state file with the key in FILE (at least 32 random bytes, e.g.
    /// `head -c 32 /dev/urandom > FILE`) and refuse a state file whose signature does not verify. Without
    /// it the state file is unsigned; either way every field read back is validated as Okta's answers are.
    #[arg(long, value_name = "FILE", requires = "state")]
    pub(crate) state_key_file: Option<PathBuf>,
    /// With --state: list every app's assignments and every user again at least this often.
    #[arg(long, default_value = "24h", value_parser = duration_arg, value_name = "DURATION")]
    pub(crate) assignments_refresh_interval: Duration,
    /// Months of usage history to keep, the current one included (0 to 25); with --history-weeks 0
    /// too, no history and a first sync that reads only the usage window.
    #[arg(long, default_value_t = 13, value_parser = clap::value_parser!(u32).range(0..=25), value_name = "N")]
    pub(crate) history_months: u32,
    /// ISO weeks of usage history to keep, the current one included (0 to 104).
    #[arg(long, default_value_t = 26, value_parser = clap::value_parser!(u32).range(0..=104), value_name = "N")]
    pub(crate) history_weeks: u32,
    /// A seat is one to reclaim when its last sign-in (or, with none, its assignment) is older than this,
    /// 1d..365d (beyond 90d only with history on: Okta's log holds 90 days).
    #[arg(long, default_value = "60d", value_parser = inactive_after_arg, value_name = "DAYS")]
    pub(crate) inactive_after: u32,
    /// An Okta group whose members are never counted as seats to reclaim (repeatable; needs the
    /// "View groups" permission, OAuth scope okta.groups.read).
    #[arg(long = "exempt-group", value_name = "GROUP_ID")]
    pub(crate) exempt_groups: Vec<String>,
    /// A user profile attribute (base or custom, e.g. department, costCenter) to break each app's and the
    /// org's seats, active users and unused seats down by (repeatable, at most 3).
    #[arg(long = "breakdown", value_name = "ATTRIBUTE", value_parser = attribute_arg)]
    pub(crate) breakdown: Vec<String>,
}

fn attribute_arg(name: &str) -> Result<String, String> {
    if discovery::valid_attribute_name(name) {
        Ok(name.to_string())
    } else {
        Err("an Okta profile attribute name: a letter, then letters, digits or _ (at most 50), e.g. costCenter".into())
    }
}

/// At most 3 breakdown attributes, none twice.
fn check_breakdown(names: &[String]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(format!("--breakdown {twice} is given twice"));
    }
    if names.len() > discovery::MAX_BREAKDOWN_ATTRIBUTES {
        return Err(format!("--breakdown: at most {} attributes", discovery::MAX_BREAKDOWN_ATTRIBUTES));
    }
    Ok(())
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {}", crate::text::message(&message.to_string()));
    ExitCode::FAILURE
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

/// The credentials from the flags, and their kind.
fn auth(args: &SyncArgs, org: &OrgUrl, token_from_flag: bool) -> Result<(Auth, CredentialKind), String> {
    if let (Some(client_id), Some(key_file)) = (&args.client_id, &args.private_key_file) {
        let raw = read_file(key_file, "--private-key-file")?;
        let key = SigningKey::parse(&raw)
            .map_err(|e| format!("--private-key-file {} {e}: use {ACCEPTED_FORMATS}", key_file.display()))?;
        let scopes =
            if args.scopes.is_empty() { DEFAULT_OAUTH_SCOPES.map(String::from).to_vec() } else { args.scopes.clone() };
        let config = OAuthConfig { client_id: client_id.clone(), key, key_id: args.key_id.clone(), scopes };
        let session = OAuthSession::new(config, &org.base, args.okta.client_options()?.request_timeout)?;
        return Ok((Auth::OAuth(Arc::new(session)), CredentialKind::OAuth));
    }
    if token_from_flag {
        return Err("pass the API token through OKTA_API_TOKEN or --token-file, never as a flag value (it would show in ps and shell history)".into());
    }
    let raw = match (&args.token_file, &args.api_token) {
        (Some(path), _) => read_file(path, "--token-file")?,
        (None, Some(token)) => token.clone().into_bytes(),
        (None, None) => return Err(
            "no credentials: pass --token-file FILE, set OKTA_API_TOKEN, or use --client-id with --private-key-file"
                .into(),
        ),
    };
    let token = ApiToken::parse(&raw).map_err(|e| format!("the API token {e}"))?;
    Ok((Auth::Ssws(token), CredentialKind::ApiToken))
}

fn report_access(report: &AccessReport, kind: CredentialKind) -> Result<(), String> {
    let line: Vec<String> = Need::ALL
        .iter()
        .map(|n| {
            let name = if kind == CredentialKind::OAuth { n.scope() } else { n.guide_name() };
            format!("{name}: {}", if report.granted(*n) { "Granted" } else { "Denied" })
        })
        .collect();
    eprintln!("access: {}", line.join(", "));
    match report.denied.first() {
        Some((_, e)) => Err(e.to_string()),
        None => Ok(()),
    }
}

/// The largest state file read (compressed): an xlarge org's is about 60 MiB.
const STATE_FILE_CAP: u64 = 512 << 20;

/// The seal of the state file: signed with --state-key-file's key, else unsigned.
fn state_seal(args: &SyncArgs) -> Result<Seal, String> {
    let Some(path) = &args.state_key_file else {
        return Ok(Seal::unsigned());
    };
    let key = read_file(path, "the state key")?;
    Seal::hmac(&key, b"dti-operator sync --state").map_err(|e| format!("{e} in {}", path.display()))
}

/// The state in `path`, checked; a fresh state (a full scan) when there is none or it is refused.
fn load_state(path: Option<&Path>, seal: &Seal, config: &SyncConfig) -> OrgState {
    let Some(path) = path.filter(|p| p.exists()) else {
        return OrgState::default();
    };
    let key = &config.key();
    let expect = checkpoint::Expect { key, now_ms: config.clock.now().timestamp_millis() };
    let read = std::fs::File::open(path).and_then(|f| {
        let mut bytes = Vec::new();
        f.take(STATE_FILE_CAP + 1).read_to_end(&mut bytes).map(|_| bytes)
    });
    let loaded = match read {
        Ok(bytes) if bytes.len() as u64 > STATE_FILE_CAP => Err(format!("it is larger than {STATE_FILE_CAP} bytes")),
        Ok(bytes) => checkpoint::decode(&bytes, seal, &expect).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match loaded {
        Ok(state) => state,
        Err(e) => {
            eprintln!("warning: cannot use the sync state in {} ({e}); scanning in full", path.display());
            OrgState::default()
        }
    }
}

/// Streams the state into a file beside `path` and renames it over: an interrupted save leaves the old one.
fn save_state(path: &Path, state: &OrgState, seal: &Seal) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::File::create(&tmp)
        .and_then(|f| checkpoint::write_to(state, std::io::BufWriter::new(f), seal))
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .and_then(|f| f.sync_all())
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot save the sync state to {}: {e}", path.display()))
}

fn config(args: &SyncArgs, org: &OrgUrl, clock: Clock) -> SyncConfig {
    SyncConfig {
        domain: args.domain.clone(),
        origin: org.origin(),
        window_days: args.usage_window,
        event_types: if args.event_types.is_empty() {
            DEFAULT_SIGN_IN_EVENT_TYPES.map(String::from).to_vec()
        } else {
            args.event_types.clone()
        },
        include_okta_apps: args.include_okta_apps,
        refresh_interval: args.assignments_refresh_interval,
        keep_logins: args.per_user.is_some(),
        breakdown: args.breakdown.clone(),
        history: Retention { months: args.history_months, weeks: args.history_weeks },
        reclaim: ReclaimRules {
            inactive_after_ms: i64::from(args.inactive_after) * 86_400_000,
            exempt_groups: args.exempt_groups.clone(),
        },
        clock,
    }
}

pub(crate) async fn run(args: SyncArgs, token_from_flag: bool) -> ExitCode {
    let prepared = (|| {
        let clock = args.okta.clock()?;
        check_breakdown(&args.breakdown)?;
        let policy = args.okta.domain_policy()?;
        let org = policy.check(&args.domain).map_err(|e| e.to_string())?;
        let options = args.okta.client_options()?;
        let (auth, kind) = auth(&args, &org, token_from_flag)?;
        let governor = Arc::new(OrgGovernor::new(options.max_in_flight));
        let client = OktaClient::new(org.clone(), auth, governor, options).map_err(|e| e.to_string())?;
        Ok::<_, String>((org, client, kind, clock))
    })();
    let (org, client, kind, clock) = match prepared {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if args.okta.insecure_allow_http {
        eprintln!(
            "WARNING: --insecure-allow-http: loopback and plain http are allowed; never use this against a real Okta org"
        );
    }
    match discovery::check_access(&client, kind).await {
        Err(e) => return fail(e),
        Ok(report) => {
            if let Err(e) = report_access(&report, kind) {
                return fail(e);
            }
        }
    }
    let config = config(&args, &org, clock);
    // logins are never checkpointed (no personal data at rest beyond user ids), so the per-user export
    // comes from a full scan, which lists every user's login
    let resume = if args.per_user.is_some() { None } else { args.state.as_deref() };
    let seal = match state_seal(&args) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut state = load_state(resume, &seal, &config);
    match sync_and_print(&args, &client, kind, &config, &mut state, &seal).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

async fn sync_and_print(
    args: &SyncArgs,
    client: &OktaClient,
    kind: CredentialKind,
    config: &SyncConfig,
    state: &mut OrgState,
    seal: &Seal,
) -> Result<(), String> {
    let progress = Arc::new(Progress::default());
    let ticker = std::io::stderr().is_terminal().then(|| tokio::spawn(show_progress(progress.clone())));
    let result =
        tokio::time::timeout(args.okta.sync_timeout, discovery::sync(client, kind, config, state, &progress)).await;
    if let Some(t) = ticker {
        t.abort();
        eprint!("\r\x1b[2K");
    }
    let output = match result {
        Err(_) => {
            return Err(format!("the sync did not finish within --sync-timeout {:?}", args.okta.sync_timeout));
        }
        Ok(Err(e)) => return Err(e.to_string()),
        Ok(Ok(o)) => o,
    };
    super::output::print(&output.report, args.format).map_err(|e| format!("cannot write the report: {e}"))?;
    if let Some(path) = &args.per_user {
        let now_ms = output.report.generated_at.timestamp_millis();
        let times = discovery::ExportTimes::at(now_ms, config.window_days, &config.reclaim);
        let file =
            std::fs::File::create(path).map_err(|e| format!("cannot write --per-user {}: {e}", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        let rows = discovery::write_per_user(state, times, discovery::Rows::All, u64::MAX, &mut out)
            .and_then(|n| std::io::Write::flush(&mut out).map(|_| n.rows))
            .map_err(|e| format!("cannot write --per-user {}: {e}", path.display()))?;
        eprintln!("per-user: {rows} assignments written to {}", path.display());
    }
    if let Some(path) = &args.state {
        save_state(path, state, seal)?;
    }
    let stats = client.stats();
    eprintln!(
        "sync: {} ({}), {} requests ({} retried, {} rate-limited, {:.1}s waiting for rate limits), {} users, {} events read, {} app(s) re-listed, {} records skipped",
        if output.mode == discovery::Mode::Full { "full" } else { "incremental" },
        args.domain,
        stats.requests(),
        stats.retries.load(Ordering::Relaxed),
        stats.rate_limited.load(Ordering::Relaxed),
        stats.rate_limit_wait().as_secs_f64(),
        output.users_scanned,
        output.events_scanned,
        output.apps_relisted,
        output.skipped_records,
    );
    if output.history_late > 0 {
        eprintln!(
            "sync: {} sign-in(s) arrived after their month and week had closed: counted in the usage window, not in the history",
            output.history_late
        );
    }
    Ok(())
}

async fn show_progress(progress: Arc<Progress>) {
    loop {
        eprint!(
            "\r\x1b[2Kreading Okta: apps {}/{} · users {} · events {}",
            progress.apps_done.load(Ordering::Relaxed),
            progress.apps_total.load(Ordering::Relaxed),
            progress.users.load(Ordering::Relaxed),
            progress.events.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
