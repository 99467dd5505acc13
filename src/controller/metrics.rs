//! Prometheus metrics (text format 0.0.4 on /metrics). Counters count what this process did; every
//! per-integration gauge is computed when scraped, from the state restored from status at start, so it
//! survives restarts and failovers (cert-manager's approach). Per-app series are keyed by app id (the
//! label is only a label) and bounded to each integration's top apps.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::conditions::ConditionType;
use super::state::States;
use crate::crd::ReclaimSeats;
use crate::okta::{Bucket, GovernorRegistry, RequestObserver};
use crate::sync::lock;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ResultLabels {
    pub(crate) result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ErrorLabels {
    pub(crate) error: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub(crate) org: String,
    pub(crate) bucket: String,
    pub(crate) code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct BucketLabels {
    pub(crate) org: String,
    pub(crate) bucket: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IntegrationLabels {
    namespace: String,
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConditionLabels {
    namespace: String,
    name: String,
    #[prometheus(flatten)]
    condition: ConditionParts,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConditionParts {
    r#type: String,
    status: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    namespace: String,
    name: String,
    app_id: String,
    app: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppReasonLabels {
    #[prometheus(flatten)]
    app: AppLabels,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    namespace: String,
    name: String,
    reason: String,
}

/// One AppContract's exported figures.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ContractSeries {
    pub(crate) integration: String,
    pub(crate) app: String,
    pub(crate) currency: String,
    pub(crate) per: String,
    pub(crate) utilization: Option<f64>,
    pub(crate) wasted: f64,
    pub(crate) contracted: f64,
    pub(crate) renewal_ts: Option<f64>,
}

/// Every contract's series, by (namespace, name).
#[derive(Clone, Debug, Default)]
pub(crate) struct ContractGauges(Arc<Mutex<std::collections::BTreeMap<(String, String), ContractSeries>>>);

impl ContractGauges {
    /// Sets (or with None, removes) one contract's series.
    pub(crate) fn set(&self, namespace: &str, name: &str, series: Option<ContractSeries>) {
        let mut all = lock(&self.0);
        let key = (namespace.to_string(), name.to_string());
        match series {
            Some(s) => {
                all.insert(key, s);
            }
            None => {
                all.remove(&key);
            }
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ContractLabels {
    namespace: String,
    contract: String,
    integration: String,
    app: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SpendLabels {
    #[prometheus(flatten)]
    contract: ContractLabels,
    currency: String,
    per: String,
}

impl prometheus_client::collector::Collector for ContractGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let all: Vec<(ContractLabels, ContractSeries)> = lock(&self.0)
            .iter()
            .map(|((ns, name), s)| {
                let labels = ContractLabels {
                    namespace: ns.clone(),
                    contract: name.clone(),
                    integration: s.integration.clone(),
                    app: s.app.clone(),
                };
                (labels, s.clone())
            })
            .collect();
        let series = |pick: &dyn Fn(&ContractSeries) -> Option<f64>| -> Vec<(ContractLabels, f64)> {
            all.iter().filter_map(|(l, s)| Some((l.clone(), pick(s)?))).collect()
        };
        gauge_family(
            &mut encoder,
            "dti_contract_utilization_ratio",
            "Active users of the contract's app per contracted seat (1 = every seat used)",
            &series(&|s| s.utilization),
        )?;
        gauge_family(&mut encoder, "dti_contract_seats", "Seats contracted", &series(&|s| Some(s.contracted)))?;
        gauge_family(
            &mut encoder,
            "dti_contract_renewal_timestamp_seconds",
            "When the contract renews (start of the renewal date, UTC)",
            &series(&|s| s.renewal_ts),
        )?;
        let spend: Vec<(SpendLabels, f64)> = all
            .iter()
            .map(|(l, s)| {
                (SpendLabels { contract: l.clone(), currency: s.currency.clone(), per: s.per.clone() }, s.wasted)
            })
            .collect();
        gauge_family(
            &mut encoder,
            "dti_contract_wasted_spend",
            "Contracted seats not in active use times the price, per period (sum by currency, never across)",
            &spend,
        )
    }
}

/// One month of one integration's history.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MonthLabels {
    namespace: String,
    name: String,
    month: String,
}

struct StateCollector {
    states: States,
    governors: Arc<GovernorRegistry>,
    top_apps: usize,
    leader: Arc<AtomicBool>,
}

impl std::fmt::Debug for StateCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateCollector")
    }
}

fn gauge_family<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: &[(L, f64)],
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in series {
        ConstGauge::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

/// The summary's totals, each exported as a gauge of its own.
#[derive(Clone, Copy)]
struct Totals {
    apps: f64,
    used_apps: f64,
    unused_apps: f64,
    unused_seats: f64,
    users: f64,
    active_users: f64,
}

impl Totals {
    fn of(s: &crate::crd::Summary) -> Totals {
        Totals {
            apps: s.apps as f64,
            used_apps: s.used_apps as f64,
            unused_apps: s.unused_apps as f64,
            unused_seats: s.unused_seats as f64,
            users: s.users as f64,
            active_users: s.active_users as f64,
        }
    }
}

/// One integration's scrape-time numbers.
struct Snapshot {
    labels: IntegrationLabels,
    ready: bool,
    conditions: Vec<ConditionParts>,
    last_success: Option<f64>,
    interval: Option<f64>,
    totals: Option<Totals>,
    checkpoint_bytes: Option<f64>,
    token_requests: Option<u64>,
    apps: Vec<(AppLabels, f64, f64, ReclaimSeats)>,
    reclaim: Option<ReclaimSeats>,
    /// The org's months: (month, active users, sign-ins), the current one included.
    months: Vec<(String, f64, f64)>,
}

impl StateCollector {
    fn snapshots(&self) -> Vec<Snapshot> {
        let mut out = Vec::new();
        for (key, state) in self.states.all() {
            let (namespace, name) = (key.namespace.as_str(), key.name.as_str());
            let st = lock(&state);
            let labels = IntegrationLabels { namespace: namespace.into(), name: name.into() };
            let conditions: Vec<ConditionParts> = st
                .conditions
                .iter()
                .map(|c| ConditionParts { r#type: c.type_.clone(), status: c.status.clone(), reason: c.reason.clone() })
                .collect();
            let ready = st.conditions.iter().any(|c| c.type_ == ConditionType::Ready.as_str() && c.status == "True");
            let summary = st.record.results.as_ref().map(|r| &r.summary);
            out.push(Snapshot {
                ready,
                conditions,
                last_success: summary
                    .and_then(|s| s.last_successful_sync_time.as_ref())
                    .map(|t| t.0.as_second() as f64),
                interval: st.sync_interval.map(|d| d.as_secs_f64()),
                totals: summary.map(Totals::of),
                checkpoint_bytes: st.record.checkpoint.as_ref().map(|c| c.bytes as f64),
                token_requests: st.access.oauth.as_ref().map(|(_, s)| s.token_requests()),
                apps: st
                    .record
                    .results
                    .iter()
                    .flat_map(|r| r.apps.iter().take(self.top_apps))
                    .map(|a| {
                        let l = AppLabels {
                            namespace: namespace.into(),
                            name: name.into(),
                            app_id: a.id.clone(),
                            app: a.label.clone(),
                        };
                        (l, a.active_users as f64, a.unused_seats as f64, a.reclaim.unwrap_or_default())
                    })
                    .collect(),
                reclaim: summary.and_then(|s| s.reclaim),
                months: summary
                    .map(|s| s.history.months.iter())
                    .into_iter()
                    .flatten()
                    .map(|m| (m.month.clone(), m.active_users as f64, m.sign_ins as f64))
                    .collect(),
                labels,
            });
        }
        out.sort_by(|a, b| (&a.labels.namespace, &a.labels.name).cmp(&(&b.labels.namespace, &b.labels.name)));
        out
    }
}

impl prometheus_client::collector::Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snaps = self.snapshots();
        let leader = encoder.encode_descriptor(
            "dti_leader",
            "1 while this replica holds the leader lease and runs the controllers",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(if self.leader.load(Ordering::Relaxed) { 1.0 } else { 0.0 }).encode(leader)?;
        let owned = encoder.encode_descriptor(
            "dti_shard_integrations",
            "Integrations this replica holds and syncs (with run --sharding: its shard's)",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(snaps.len() as f64).encode(owned)?;
        encode_health(&mut encoder, &snaps)?;
        encode_inventory(&mut encoder, &snaps)?;
        encode_apps(&mut encoder, &snaps)?;
        encode_months(&mut encoder, &snaps)?;
        encode_budgets(&mut encoder, &self.governors.budgets())
    }
}

/// One gauge series per integration, from `f` (None: no series).
fn per(snaps: &[Snapshot], f: &dyn Fn(&Snapshot) -> Option<f64>) -> Vec<(IntegrationLabels, f64)> {
    snaps.iter().filter_map(|s| Some((s.labels.clone(), f(s)?))).collect()
}

/// Readiness, conditions, data age and the sync interval.
fn encode_health(encoder: &mut DescriptorEncoder, snaps: &[Snapshot]) -> Result<(), std::fmt::Error> {
    let ready = per(snaps, &|s| Some(if s.ready { 1.0 } else { 0.0 }));
    gauge_family(encoder, "dti_integration_ready", "1 when the OktaIntegration's Ready condition is True", &ready)?;
    let conditions: Vec<(ConditionLabels, f64)> = snaps
        .iter()
        .flat_map(|s| {
            s.conditions.iter().map(|c| {
                let labels = ConditionLabels {
                    namespace: s.labels.namespace.clone(),
                    name: s.labels.name.clone(),
                    condition: c.clone(),
                };
                (labels, 1.0)
            })
        })
        .collect();
    gauge_family(
        encoder,
        "dti_integration_status_condition",
        "The OktaIntegration's conditions, one series per condition with its status and reason",
        &conditions,
    )?;
    gauge_family(
        encoder,
        "dti_integration_last_success_timestamp_seconds",
        "When the last successful sync finished (Unix seconds)",
        &per(snaps, &|s| s.last_success),
    )?;
    gauge_family(
        encoder,
        "dti_integration_sync_interval_seconds",
        "spec.syncInterval of the OktaIntegration",
        &per(snaps, &|s| s.interval),
    )
}

/// The summary's totals, the checkpoint's size and OAuth token requests.
fn encode_inventory(encoder: &mut DescriptorEncoder, snaps: &[Snapshot]) -> Result<(), std::fmt::Error> {
    type Pick = fn(&Totals) -> f64;
    let gauges: [(&str, &str, Pick); 6] = [
        ("dti_integration_apps", "Apps in the inventory (Okta's own apps and service clients excluded)", |t| t.apps),
        ("dti_integration_used_apps", "Apps with at least one sign-in in the usage window", |t| t.used_apps),
        ("dti_integration_unused_apps", "ACTIVE apps with no sign-in in the usage window", |t| t.unused_apps),
        (
            "dti_integration_unused_seats",
            "Seat holders with no sign-in to their app in the usage window, summed over apps",
            |t| t.unused_seats,
        ),
        ("dti_integration_users", "Users in the org (all but DEPROVISIONED)", |t| t.users),
        ("dti_integration_active_users", "Distinct users with a sign-in in the usage window", |t| t.active_users),
    ];
    for (name, help, pick) in gauges {
        gauge_family(encoder, name, help, &per(snaps, &|s| s.totals.as_ref().map(pick)))?;
    }
    gauge_family(
        encoder,
        "dti_integration_checkpoint_bytes",
        "Size of the saved sync state (compressed)",
        &per(snaps, &|s| s.checkpoint_bytes),
    )?;
    let mut tokens = encoder.encode_descriptor(
        "dti_oauth_token_requests",
        "Access-token requests of an OAuth integration's current credentials (one an hour when all is well)",
        None,
        MetricType::Counter,
    )?;
    for s in snaps.iter().filter(|s| s.token_requests.is_some()) {
        ConstCounter::new(s.token_requests.unwrap_or_default()).encode(tokens.encode_family(&s.labels)?)?;
    }
    Ok(())
}

/// Per-app series of each integration's top apps, keyed by app id.
fn encode_apps(encoder: &mut DescriptorEncoder, snaps: &[Snapshot]) -> Result<(), std::fmt::Error> {
    let apps: Vec<&(AppLabels, f64, f64, ReclaimSeats)> = snaps.iter().flat_map(|s| s.apps.iter()).collect();
    gauge_family(
        encoder,
        "dti_integration_app_active_users",
        "Active users of each of an integration's top apps (by app id; app is the label)",
        &apps.iter().map(|a| (a.0.clone(), a.1)).collect::<Vec<_>>(),
    )?;
    gauge_family(
        encoder,
        "dti_integration_app_unused_seats",
        "Unused seats of each of an integration's top apps (by app id; app is the label)",
        &apps.iter().map(|a| (a.0.clone(), a.2)).collect::<Vec<_>>(),
    )?;
    let by_reason: Vec<(AppReasonLabels, f64)> = apps
        .iter()
        .flat_map(|a| reasons(a.3).map(|(reason, n)| (AppReasonLabels { app: a.0.clone(), reason: reason.into() }, n)))
        .collect();
    gauge_family(
        encoder,
        "dti_integration_app_reclaimable_seats",
        "Seats to reclaim in each of an integration's top apps, by reason (leaver, neverUsed, inactive)",
        &by_reason,
    )?;
    let org: Vec<(ReasonLabels, f64)> = snaps
        .iter()
        .filter_map(|s| Some((s, s.reclaim?)))
        .flat_map(|(s, r)| {
            reasons(r).map(|(reason, n)| {
                let labels = ReasonLabels {
                    namespace: s.labels.namespace.clone(),
                    name: s.labels.name.clone(),
                    reason: reason.into(),
                };
                (labels, n)
            })
        })
        .collect();
    gauge_family(
        encoder,
        "dti_integration_reclaimable_seats",
        "Seats to reclaim over all of an integration's apps, by reason (leaver, neverUsed, inactive)",
        &org,
    )
}

/// One count per reason, named as the per-user export names them.
fn reasons(r: ReclaimSeats) -> impl Iterator<Item = (&'static str, f64)> {
    [("leaver", r.leavers), ("neverUsed", r.never_used), ("inactive", r.inactive)]
        .into_iter()
        .map(|(k, n)| (k, n as f64))
}

/// The org's history: one series per integration and month kept (spec.history.months, at most 25).
fn encode_months(encoder: &mut DescriptorEncoder, snaps: &[Snapshot]) -> Result<(), std::fmt::Error> {
    let series = |pick: fn(&(String, f64, f64)) -> f64| -> Vec<(MonthLabels, f64)> {
        snaps
            .iter()
            .flat_map(|s| {
                s.months.iter().map(move |m| {
                    let labels = MonthLabels {
                        namespace: s.labels.namespace.clone(),
                        name: s.labels.name.clone(),
                        month: m.0.clone(),
                    };
                    (labels, pick(m))
                })
            })
            .collect()
    };
    gauge_family(
        encoder,
        "dti_integration_monthly_active_users",
        "Distinct users with a sign-in in each calendar month kept (UTC; the current month so far)",
        &series(|m| m.1),
    )?;
    gauge_family(
        encoder,
        "dti_integration_monthly_sign_ins",
        "Sign-ins in each calendar month kept (UTC; the current month so far)",
        &series(|m| m.2),
    )
}

/// The Okta rate-limit budget each org's governor last learnt.
fn encode_budgets(
    encoder: &mut DescriptorEncoder,
    budgets: &[(String, Bucket, u64, u64)],
) -> Result<(), std::fmt::Error> {
    let series = |pick: fn(u64, u64) -> u64| -> Vec<(BucketLabels, f64)> {
        budgets
            .iter()
            .map(|(org, b, limit, left)| {
                (BucketLabels { org: org.clone(), bucket: b.label().into() }, pick(*limit, *left) as f64)
            })
            .collect()
    };
    gauge_family(
        encoder,
        "dti_okta_rate_limit_remaining",
        "Requests this operator may still send in the bucket's current window, as last learnt",
        &series(|_, left| left),
    )?;
    gauge_family(
        encoder,
        "dti_okta_rate_limit_limit",
        "The bucket's limit per window for this operator's credentials, as last learnt",
        &series(|limit, _| limit),
    )
}

pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) reconciles: Family<ResultLabels, Counter>,
    pub(crate) reconcile_errors: Family<ErrorLabels, Counter>,
    pub(crate) reconcile_duration: Histogram,
    pub(crate) status_writes: Counter,
    pub(crate) app_writes: Counter,
    pub(crate) syncs: Family<ResultLabels, Counter>,
    pub(crate) sync_duration: Family<ResultLabels, Histogram>,
    pub(crate) okta_requests: Family<RequestLabels, Counter>,
    pub(crate) rate_limit_wait: Family<BucketLabels, Counter<f64, AtomicU64>>,
    /// Each AppContract's figures, exported at scrape time.
    pub(crate) contracts: ContractGauges,
    pub(crate) checkpoint_bytes: Gauge,
    /// Sync states kept in memory between syncs, and their approximate bytes.
    pub(crate) state_cache_states: Gauge,
    pub(crate) state_cache_bytes: Gauge,
    /// Sync starts by where their state came from: memory (hit) or the checkpoint or a full scan (miss).
    pub(crate) state_cache_lookups: Family<ResultLabels, Counter>,
    pub(crate) leader: Arc<AtomicBool>,
    /// Live replicas this replica sees in its shard group (run --sharding).
    pub(crate) shard_members: Gauge,
    /// The per-org label sets created so far, so the series of an org no integration uses any more (a
    /// changed spec.domain) are dropped instead of growing for the life of the process.
    org_series: Mutex<HashMap<String, OrgSeries>>,
    states: States,
}

#[derive(Default)]
struct OrgSeries {
    requests: HashSet<RequestLabels>,
    waits: HashSet<BucketLabels>,
}

impl Metrics {
    pub(crate) fn new(states: States, governors: Arc<GovernorRegistry>, top_apps: usize) -> Metrics {
        // One registry, made with the families it exports.
        let mut m = Metrics {
            reconciles: Family::default(),
            reconcile_errors: Family::default(),
            reconcile_duration: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            status_writes: Counter::default(),
            app_writes: Counter::default(),
            syncs: Family::default(),
            sync_duration: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.1, 2.0, 18))),
            okta_requests: Family::default(),
            rate_limit_wait: Family::default(),
            contracts: ContractGauges::default(),
            checkpoint_bytes: Gauge::default(),
            state_cache_states: Gauge::default(),
            state_cache_bytes: Gauge::default(),
            state_cache_lookups: Family::default(),
            leader: Arc::new(AtomicBool::new(false)),
            shard_members: Gauge::default(),
            registry: Registry::default(),
            org_series: Mutex::new(HashMap::new()),
            states: states.clone(),
        };
        m.register_families();
        m.registry.register_collector(Box::new(m.contracts.clone()));
        m.registry.register_collector(Box::new(StateCollector {
            states,
            governors,
            top_apps,
            leader: m.leader.clone(),
        }));
        m.start_at_zero();
        m
    }

    /// Registers the families updated as things happen (the scrape-time ones are collectors).
    fn register_families(&mut self) {
        self.registry.register("dti_reconcile", "Reconciles of OktaIntegrations by result", self.reconciles.clone());
        self.registry.register(
            "dti_shard_members",
            "Live replicas this replica sees in its shard group (run --sharding; 0 without)",
            self.shard_members.clone(),
        );
        self.registry.register("dti_reconcile_errors", "Reconcile errors by cause", self.reconcile_errors.clone());
        self.registry.register(
            "dti_reconcile_duration_seconds",
            "Time one reconcile took",
            self.reconcile_duration.clone(),
        );
        self.registry.register("dti_sync", "Sync jobs by result (succeeded, failed, panicked)", self.syncs.clone());
        self.registry.register(
            "dti_sync_duration_seconds",
            "Time one sync job took, by result",
            self.sync_duration.clone(),
        );
        self.registry.register(
            "dti_status_writes",
            "OktaIntegration status writes (server-side apply); an idle resync writes none",
            self.status_writes.clone(),
        );
        self.registry.register(
            "dti_oktaapp_writes",
            "OktaApp writes and deletions; a steady sync of a quiet org writes none",
            self.app_writes.clone(),
        );
        self.registry.register(
            "dti_okta_requests",
            "Requests to Okta by org, rate-limit bucket and HTTP status (none: no answer)",
            self.okta_requests.clone(),
        );
        self.registry.register(
            "dti_okta_rate_limit_wait_seconds",
            "Time requests waited for Okta rate-limit budget, by org and bucket",
            self.rate_limit_wait.clone(),
        );
        self.registry.register(
            "dti_checkpoint_last_bytes",
            "Size of the last sync state saved by this process (compressed)",
            self.checkpoint_bytes.clone(),
        );
        self.registry.register(
            "dti_state_cache_states",
            "Integrations whose sync state is kept in memory between syncs (run --state-cache-mib)",
            self.state_cache_states.clone(),
        );
        self.registry.register(
            "dti_state_cache_bytes",
            "Approximate bytes of the sync states kept in memory between syncs",
            self.state_cache_bytes.clone(),
        );
        self.registry.register(
            "dti_state_cache_lookups",
            "Sync starts by where their state came from: hit (memory) or miss (checkpoint, else a full scan)",
            self.state_cache_lookups.clone(),
        );
    }

    /// The state cache's size after a change.
    pub(crate) fn record_state_cache(&self, usage: super::state_cache::CacheUse) {
        self.state_cache_states.set(usage.states as i64);
        self.state_cache_bytes.set(usage.bytes as i64);
    }

    /// Series with a known, small label set start at zero, so rates and dashboards have data at once.
    fn start_at_zero(&self) {
        for result in ["hit", "miss"] {
            let _ = self.state_cache_lookups.get_or_create(&ResultLabels { result: result.into() });
        }
        for result in ["success", "error"] {
            let _ = self.reconciles.get_or_create(&ResultLabels { result: result.into() });
        }
        for result in ["succeeded", "failed", "panicked"] {
            let _ = self.syncs.get_or_create(&ResultLabels { result: result.into() });
            let _ = self.sync_duration.get_or_create(&ResultLabels { result: result.into() });
        }
    }

    pub(crate) fn record_sync(&self, result: &str, took: Duration) {
        let labels = ResultLabels { result: result.into() };
        self.syncs.get_or_create(&labels).inc();
        self.sync_duration.get_or_create(&labels).observe(took.as_secs_f64());
    }

    pub(crate) fn record_reconcile(&self, ok: bool, took: Duration) {
        self.reconcile_duration.observe(took.as_secs_f64());
        let result = if ok { "success" } else { "error" };
        self.reconciles.get_or_create(&ResultLabels { result: result.into() }).inc();
    }

    /// Drops the request and wait series of orgs that no integration's current spec names.
    fn prune_orgs(&self) {
        let in_use: HashSet<String> = self
            .states
            .all()
            .iter()
            .filter_map(|(_, st)| lock(st).access.check.as_ref().map(|a| a.key.origin.clone()))
            .collect();
        let mut series = lock(&self.org_series);
        series.retain(|origin, s| {
            let keep = in_use.contains(origin);
            if !keep {
                s.requests.iter().for_each(|l| {
                    self.okta_requests.remove(l);
                });
                s.waits.iter().for_each(|l| {
                    self.rate_limit_wait.remove(l);
                });
            }
            keep
        });
    }

    pub(crate) fn encode(&self) -> String {
        self.prune_orgs();
        let mut out = String::new();
        if prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl RequestObserver for Metrics {
    fn on_answer(&self, origin: &str, bucket: Bucket, status: Option<u16>) {
        let code = status.map_or_else(|| "none".to_string(), |s| s.to_string());
        let labels = RequestLabels { org: origin.into(), bucket: bucket.label().into(), code };
        let mut series = lock(&self.org_series);
        let known = series.entry(origin.to_string()).or_default();
        self.okta_requests.get_or_create(&labels).inc();
        known.requests.insert(labels);
    }
    fn on_wait(&self, origin: &str, bucket: Bucket, waited: Duration) {
        let labels = BucketLabels { org: origin.into(), bucket: bucket.label().into() };
        let mut series = lock(&self.org_series);
        let known = series.entry(origin.to_string()).or_default();
        self.rate_limit_wait.get_or_create(&labels).inc_by(waited.as_secs_f64());
        known.waits.insert(labels);
    }
}

/// The README's metrics reference: every metric the operator exports (read from a scrape of a sample
/// state, so it cannot drift from the code), as a Markdown table.
pub(crate) fn reference_markdown() -> String {
    let states = States::default();
    let sample = states.get(&super::shared::IntegrationKey::new("team-a", "acme"), "uid");
    {
        let mut st = lock(&sample);
        st.record.results = Some(super::state::Results {
            summary: crate::crd::Summary {
                history: crate::crd::UsageHistory {
                    months: vec![crate::crd::MonthUsage { month: "2026-11".into(), ..Default::default() }],
                    weeks: vec![],
                },
                ..Default::default()
            },
            apps: vec![],
            unused_apps: vec![],
            apps_total: 0,
            generation: None,
        });
        st.access.check = Some(super::state::AccessCheck {
            key: super::state::AccessKey {
                origin: "https://acme.okta.com".into(),
                fingerprint: crate::okta::Fingerprint([0; 8]),
                generation: 1,
            },
            permissions: Default::default(),
            problem: None,
            checked_at: std::time::Instant::now(),
        });
    }
    let metrics = Metrics::new(states, Arc::new(GovernorRegistry::default()), 10);
    // Families with open label sets appear once they have a series.
    metrics.reconcile_errors.get_or_create(&ErrorLabels { error: "status_write_conflict".into() }).inc();
    metrics.on_answer("https://acme.okta.com", Bucket::Logs, Some(200));
    metrics.on_wait("https://acme.okta.com", Bucket::Logs, Duration::from_millis(1));
    let mut out = String::from("| metric | type | what it says |\n|---|---|---|\n");
    for (name, kind, help) in reference(&metrics.encode()) {
        out.push_str(&format!("| `{name}` | {kind} | {help} |\n"));
    }
    out
}

/// One exported metric: name (as scraped), type and help.
fn reference(text: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            out.push((name.to_string(), String::new(), help.to_string()));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            if let Some(entry) = out.iter_mut().find(|e| e.0 == name) {
                entry.1 = kind.to_string();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
