//! What the operator remembers about each integration between reconciles (in memory; rebuilt from status
//! after a restart, except the usage ledger, whose loss costs one full-window System Log scan).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use tokio::task::AbortHandle;

use crate::crd::{AccessStatus, LastSync, OktaIntegrationStatus};
use crate::discovery::{AppUsage, Summary, UsageLedger};

/// Why access is not (yet) usable, in the AccessValidated condition's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessProblem {
    pub reason: &'static str,
    pub message: String,
    /// Needs a change from the user (kstatus Stalled), rather than time.
    pub stalled: bool,
}

/// The outcome of the last access check and what it was checked for.
#[derive(Clone, Debug)]
pub struct AccessCheck {
    /// (domain, token fingerprint, generation) the check holds for.
    pub key: (String, u64, i64),
    pub access: AccessStatus,
    pub problem: Option<AccessProblem>,
}

/// A sync job in flight.
pub struct RunningSync {
    pub generation: i64,
    pub token_fingerprint: u64,
    pub started: DateTime<Utc>,
    pub abort: AbortHandle,
}

#[derive(Default)]
pub struct IntegrationState {
    pub uid: String,
    pub restored: bool,
    pub conditions: Vec<Condition>,
    pub access_check: Option<AccessCheck>,
    /// A problem found before any check could run (Secret missing, domain refused).
    pub precheck_problem: Option<AccessProblem>,
    pub summary: Option<Summary>,
    pub apps: Vec<AppUsage>,
    pub apps_total: usize,
    pub last_sync: Option<LastSync>,
    /// The generation whose spec the last successful sync used.
    pub synced_generation: Option<i64>,
    pub last_sync_ok: bool,
    /// The generation the last sync job was started for (a new generation starts a sync at once).
    pub attempted_generation: Option<i64>,
    pub next_sync_at: Option<DateTime<Utc>>,
    pub last_handled_request: Option<String>,
    pub running: Option<RunningSync>,
    pub ledger: Option<UsageLedger>,
    /// (domain, usage window) the ledger was built for.
    pub ledger_key: Option<(String, String)>,
}

impl IntegrationState {
    /// Seeds memory from the object's status, so a restarted operator keeps showing the last good result.
    pub fn restore(&mut self, status: Option<&OktaIntegrationStatus>) {
        self.restored = true;
        let Some(status) = status else { return };
        self.conditions = status.conditions.clone();
        self.summary = status.summary.clone();
        self.apps = status.apps.clone();
        self.apps_total = status
            .summary
            .as_ref()
            .map_or(status.apps.len(), |s| s.apps as usize);
        self.last_sync = status
            .last_sync
            .clone()
            .filter(|s| s.completed_at.is_some());
        self.last_sync_ok = self.summary.is_some()
            && self
                .last_sync
                .as_ref()
                .is_some_and(|s| s.result == crate::crd::SyncResult::Succeeded);
        self.next_sync_at = status
            .next_sync_at
            .as_ref()
            .and_then(|t| DateTime::from_timestamp_millis(t.0.as_millisecond()));
        self.last_handled_request = status.last_handled_sync_request.clone();
        if self.last_sync_ok {
            self.synced_generation = status.observed_generation;
        }
        if self.last_sync.is_some() {
            self.attempted_generation = status.observed_generation;
        }
    }
}

/// States by "namespace/name".
#[derive(Default, Clone)]
pub struct States(Arc<Mutex<HashMap<String, Arc<Mutex<IntegrationState>>>>>);

impl States {
    /// The state of an object; a new one when the object was recreated (another uid).
    pub fn get(&self, key: &str, uid: &str) -> Arc<Mutex<IntegrationState>> {
        let mut all = match self.0.lock() {
            Ok(all) => all,
            Err(poisoned) => poisoned.into_inner(),
        };
        let entry = all.entry(key.to_string()).or_default();
        let stale = entry
            .lock()
            .map(|s| !s.uid.is_empty() && s.uid != uid)
            .unwrap_or(true);
        if stale {
            *entry = Arc::default();
        }
        if let Ok(mut s) = entry.lock() {
            s.uid = uid.to_string();
        }
        entry.clone()
    }

    pub fn remove(&self, key: &str) -> Option<Arc<Mutex<IntegrationState>>> {
        self.0.lock().ok()?.remove(key)
    }
}
