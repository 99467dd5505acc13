//! Prometheus metrics (text format on /metrics), named after what Flux and External Secrets users know.
//! Per-integration gauges are bounded: one series per integration for totals, and per-app series only for
//! each integration's top apps by active users (`--metrics-top-apps`, default 10); series of deleted
//! integrations and of apps that leave the top are removed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::discovery::Report;
use crate::okta::Bucket;
use crate::okta::client::RequestObserver;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub error: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub bucket: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BucketLabels {
    pub bucket: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntegrationLabels {
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AppLabels {
    pub namespace: String,
    pub name: String,
    pub app: String,
}

pub struct Metrics {
    pub registry: Registry,
    pub reconciles: Family<ResultLabels, Counter>,
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    pub reconcile_duration: Histogram,
    pub status_writes: Counter,
    pub syncs: Family<ResultLabels, Counter>,
    pub sync_duration: Family<ResultLabels, Histogram>,
    pub okta_requests: Family<RequestLabels, Counter>,
    pub rate_limit_wait: Family<BucketLabels, Counter<f64, std::sync::atomic::AtomicU64>>,
    pub apps: Family<IntegrationLabels, Gauge>,
    pub used_apps: Family<IntegrationLabels, Gauge>,
    pub users: Family<IntegrationLabels, Gauge>,
    pub app_active_users: Family<AppLabels, Gauge>,
    top_apps: usize,
    exported_apps: Mutex<HashMap<IntegrationLabels, Vec<String>>>,
}

impl Metrics {
    pub fn new(top_apps: usize) -> Metrics {
        let mut registry = Registry::with_prefix("dti");
        let reconciles = Family::<ResultLabels, Counter>::default();
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        let reconcile_duration = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        let syncs = Family::<ResultLabels, Counter>::default();
        let status_writes = Counter::default();
        let sync_duration = Family::<ResultLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.1, 2.0, 18))
        });
        let okta_requests = Family::<RequestLabels, Counter>::default();
        let rate_limit_wait =
            Family::<BucketLabels, Counter<f64, std::sync::atomic::AtomicU64>>::default();
        let apps = Family::<IntegrationLabels, Gauge>::default();
        let used_apps = Family::<IntegrationLabels, Gauge>::default();
        let users = Family::<IntegrationLabels, Gauge>::default();
        let app_active_users = Family::<AppLabels, Gauge>::default();
        registry.register(
            "reconcile",
            "Reconciles of OktaIntegrations by result",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconcile errors by kind",
            reconcile_errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile took",
            reconcile_duration.clone(),
        );
        registry.register("sync", "Sync jobs by result", syncs.clone());
        registry.register(
            "status_writes",
            "Status writes (server-side apply); an idle resync writes none",
            status_writes.clone(),
        );
        registry.register(
            "sync_duration_seconds",
            "Time one sync job took, by result",
            sync_duration.clone(),
        );
        registry.register(
            "okta_requests",
            "Requests to Okta by rate-limit bucket and HTTP status (none: no answer)",
            okta_requests.clone(),
        );
        registry.register(
            "okta_rate_limit_wait_seconds",
            "Time requests waited for Okta rate-limit budget, by bucket",
            rate_limit_wait.clone(),
        );
        registry.register(
            "integration_apps",
            "Apps in the org, from the last successful sync",
            apps.clone(),
        );
        registry.register(
            "integration_used_apps",
            "Apps with a sign-in in the usage window",
            used_apps.clone(),
        );
        registry.register(
            "integration_users",
            "Users in the org (all but DEPROVISIONED)",
            users.clone(),
        );
        registry.register(
            "integration_app_active_users",
            "Active users of each of an integration's top apps",
            app_active_users.clone(),
        );
        Metrics {
            registry,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            status_writes,
            syncs,
            sync_duration,
            okta_requests,
            rate_limit_wait,
            apps,
            used_apps,
            users,
            app_active_users,
            top_apps,
            exported_apps: Mutex::new(HashMap::new()),
        }
    }

    pub fn record_sync(&self, result: &str, took: Duration) {
        let labels = ResultLabels {
            result: result.into(),
        };
        self.syncs.get_or_create(&labels).inc();
        self.sync_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Sets an integration's gauges from its latest report.
    pub fn record_report(&self, namespace: &str, name: &str, report: &Report) {
        let key = IntegrationLabels {
            namespace: namespace.into(),
            name: name.into(),
        };
        self.apps
            .get_or_create(&key)
            .set(report.summary.apps as i64);
        self.used_apps
            .get_or_create(&key)
            .set(report.summary.used_apps as i64);
        self.users
            .get_or_create(&key)
            .set(report.summary.users as i64);
        let top: Vec<&crate::discovery::AppUsage> =
            report.apps.iter().take(self.top_apps).collect();
        let labels: Vec<String> = top.iter().map(|a| a.label.clone()).collect();
        let Ok(mut exported) = self.exported_apps.lock() else {
            return;
        };
        for old in exported
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|l| !labels.contains(l))
        {
            self.app_active_users.remove(&AppLabels {
                namespace: namespace.into(),
                name: name.into(),
                app: old.clone(),
            });
        }
        for app in top {
            self.app_active_users
                .get_or_create(&AppLabels {
                    namespace: namespace.into(),
                    name: name.into(),
                    app: app.label.clone(),
                })
                .set(app.active_users as i64);
        }
        exported.insert(key, labels);
    }

    /// Drops every series of a deleted integration.
    pub fn forget(&self, namespace: &str, name: &str) {
        let key = IntegrationLabels {
            namespace: namespace.into(),
            name: name.into(),
        };
        self.apps.remove(&key);
        self.used_apps.remove(&key);
        self.users.remove(&key);
        if let Ok(mut exported) = self.exported_apps.lock() {
            for app in exported.remove(&key).into_iter().flatten() {
                self.app_active_users.remove(&AppLabels {
                    namespace: namespace.into(),
                    name: name.into(),
                    app,
                });
            }
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl RequestObserver for Metrics {
    fn on_answer(&self, bucket: Bucket, status: Option<u16>) {
        let code = status.map_or_else(|| "none".to_string(), |s| s.to_string());
        self.okta_requests
            .get_or_create(&RequestLabels {
                bucket: bucket.label().into(),
                code,
            })
            .inc();
    }
    fn on_wait(&self, bucket: Bucket, waited: Duration) {
        self.rate_limit_wait
            .get_or_create(&BucketLabels {
                bucket: bucket.label().into(),
            })
            .inc_by(waited.as_secs_f64());
    }
}
