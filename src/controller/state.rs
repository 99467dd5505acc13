//! What the operator remembers about each integration between reconciles: in memory, seeded from status
//! after a restart (see `restore`), with the engine's incremental state resumed from the checkpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use tokio::task::AbortHandle;

use super::conditions::Reason;
use super::events::Notice;
use super::shared::IntegrationKey;
use crate::crd::{AccessStatus, AppSummary, CheckpointStatus, LastSync, Summary, UserListStatus};
use crate::okta::Fingerprint;
use crate::okta::oauth::OAuthSession;
use crate::sync::lock;

/// Why access is not (yet) usable, in the AccessValidated condition's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) reason: Reason,
    pub(crate) message: String,
}

impl Problem {
    pub(crate) fn new(reason: Reason, message: impl AsRef<str>) -> Problem {
        Problem { reason, message: crate::text::message(message.as_ref()) }
    }
}

/// What an access check holds for: the org, the credentials and the spec generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AccessKey {
    pub(crate) origin: String,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) generation: i64,
}

/// The outcome of the last access check.
#[derive(Clone, Debug)]
pub(crate) struct AccessCheck {
    pub(crate) key: AccessKey,
    pub(crate) permissions: AccessStatus,
    pub(crate) problem: Option<Problem>,
    pub(crate) checked_at: Instant,
}

/// A sync job in flight.
pub(crate) struct RunningJob {
    pub(crate) id: u64,
    pub(crate) generation: i64,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) started: DateTime<Utc>,
    pub(crate) abort: AbortHandle,
}

/// The last successful sync's results, as status shows them.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Results {
    pub(crate) summary: Summary,
    pub(crate) apps: Vec<AppSummary>,
    pub(crate) unused_apps: Vec<AppSummary>,
    pub(crate) apps_total: usize,
    /// The generation whose spec produced them.
    pub(crate) generation: Option<i64>,
}

/// What the validate step knows between reconciles; only that step changes it (it takes the last one and
/// returns the next), and it is cheap to clone (the OAuth session is shared).
#[derive(Clone, Default)]
pub(crate) struct AccessState {
    /// A problem found before any check could run (Secret, domain, spec).
    pub(crate) precheck: Option<Problem>,
    pub(crate) check: Option<AccessCheck>,
    /// The OAuth session (DPoP key, cached token) of the credentials in use.
    pub(crate) oauth: Option<(Fingerprint, Arc<OAuthSession>)>,
    /// A passed check that status shows, until the first check is due (see `restore`).
    pub(crate) vouched: Option<Vouched>,
}

/// What status shows of a passed access check: the generation and the Secret's resourceVersion it was
/// made with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Vouched {
    pub(crate) generation: i64,
    pub(crate) secret_resource_version: String,
}

impl AccessState {
    /// The problem that blocks syncing, if any: the precheck's, else the access check's.
    pub(crate) fn problem(&self) -> Option<&Problem> {
        self.precheck.as_ref().or_else(|| self.check.as_ref().and_then(|c| c.problem.as_ref()))
    }

    pub(crate) fn valid(&self) -> bool {
        self.precheck.is_none() && self.check.as_ref().is_some_and(|c| c.problem.is_none())
    }
}

/// What a failed job learnt about the credentials it ran with (revoked, a permission gone); the next
/// validate step applies it to the check of those credentials, and to no other.
#[derive(Clone, Debug)]
pub(crate) struct AccessFinding {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) denied: Option<crate::discovery::Need>,
    pub(crate) problem: Problem,
}

/// What finished sync jobs recorded: written only by `outcome::record` (and by `restore`, once, from
/// status); the reconcile reads it to compose status and to schedule.
#[derive(Default)]
pub(crate) struct SyncRecord {
    pub(crate) results: Option<Results>,
    pub(crate) last_sync: Option<LastSync>,
    pub(crate) last_sync_ok: bool,
    /// The last sync panicked: Synced says so until the next one ends.
    pub(crate) panicked: bool,
    pub(crate) next_sync_at: Option<DateTime<Utc>>,
    pub(crate) last_handled_request: Option<String>,
    pub(crate) checkpoint: Option<CheckpointStatus>,
    /// What became of `checkpoint` since it was written.
    pub(crate) since_save: SinceSave,
    /// The per-user list last written (spec.reclaim.userList).
    pub(crate) user_list: Option<UserListStatus>,
    /// Waiting for the next validate step.
    pub(crate) finding: Option<AccessFinding>,
}

impl SyncRecord {
    /// The checkpoint a sync may leave as it is (`checkpoints::save_unless_recent`): none after a failed save.
    pub(crate) fn keepable(&self) -> Option<Keepable> {
        let SinceSave::Read(read_since) = self.since_save else { return None };
        self.checkpoint.clone().map(|status| Keepable { status, read_since })
    }

    /// Records what a finished sync did with its checkpoint.
    pub(crate) fn record_saving(&mut self, saving: Saving) {
        match saving {
            Saving::Written(status) => {
                self.checkpoint = Some(status);
                self.since_save = SinceSave::Read(0);
            }
            // Only a checkpoint that was keepable is kept: a failed save stays recorded until one succeeds.
            Saving::Kept { pending } => {
                if let SinceSave::Read(read) = &mut self.since_save {
                    *read = pending;
                }
            }
            Saving::Failed => self.since_save = SinceSave::SaveFailed,
        }
    }
}

/// The checkpoint a sync may leave as it is: the one last written, and the records read since.
#[derive(Clone, Debug)]
pub(crate) struct Keepable {
    pub(crate) status: CheckpointStatus,
    pub(crate) read_since: u64,
}

/// What a finished sync did with its checkpoint.
#[derive(Clone, Debug)]
pub(crate) enum Saving {
    /// Written now (its status says when it was skipped over the cap).
    Written(CheckpointStatus),
    /// The saved one left as it is, with `pending` records read since it was written.
    Kept { pending: u64 },
    /// The save failed: the checkpoint status shows is older than the state, or broken.
    Failed,
}

/// What became of the recorded checkpoint since it was written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum SinceSave {
    /// Syncs left it as it is and read this many records (0: just written, or restored from status).
    Read(u64),
    /// A later save failed: it may be older than it says, or broken.
    SaveFailed,
}

impl Default for SinceSave {
    fn default() -> Self {
        SinceSave::Read(0)
    }
}

/// The job slot: filled by the schedule step, emptied by it (cancel) or by the job's supervisor.
#[derive(Default)]
pub(crate) struct JobSlot {
    pub(crate) running: Option<RunningJob>,
    /// The generation the last sync job was started for (a new generation starts a sync at once).
    pub(crate) attempted_generation: Option<i64>,
}

impl JobSlot {
    /// Aborts the running job, if any; true when there was one.
    pub(crate) fn stop(&mut self) -> bool {
        match self.running.take() {
            Some(job) => {
                job.abort.abort();
                true
            }
            None => false,
        }
    }

    /// Records a job just started.
    pub(crate) fn begin(&mut self, job: RunningJob) {
        self.attempted_generation = Some(job.generation);
        self.running = Some(job);
    }
}

/// An integration's memory, in parts that each have one writer: `access` the validate step, `job` the
/// schedule step (and the supervisor that empties it), `record` the finished jobs, `conditions` the
/// apply step; `notices` is the queue between them and the event recorder.
#[derive(Default)]
pub(crate) struct IntegrationState {
    pub(crate) uid: String,
    /// Seeded from status once, at first sight.
    pub(crate) restored: bool,
    pub(crate) access: AccessState,
    pub(crate) job: JobSlot,
    pub(crate) record: SyncRecord,
    /// The conditions as last written (their transition times are kept while they hold).
    pub(crate) conditions: Vec<Condition>,
    /// spec.syncInterval as last seen (for the metrics).
    pub(crate) sync_interval: Option<std::time::Duration>,
    /// Events to publish; kept until published (an outage does not lose them).
    pub(crate) notices: Vec<Notice>,
}

impl IntegrationState {
    /// The problem that blocks syncing, if any.
    pub(crate) fn problem(&self) -> Option<&Problem> {
        self.access.problem()
    }

    pub(crate) fn access_valid(&self) -> bool {
        self.access.valid()
    }

    /// Puts back notices that could not be published, before any queued since (oldest dropped past the cap).
    pub(crate) fn requeue_notices(&mut self, unsent: Vec<Notice>) {
        let newer = std::mem::take(&mut self.notices);
        self.notices = unsent;
        self.notices.extend(newer);
        let excess = self.notices.len().saturating_sub(super::shared::NOTICE_CAP);
        self.notices.drain(..excess);
    }

    pub(crate) fn notify(&mut self, notice: Notice) {
        // Bounded: during a long outage only the newest notices wait to be published.
        if self.notices.len() >= super::shared::NOTICE_CAP {
            self.notices.remove(0);
        }
        self.notices.push(notice);
    }
}

/// States by integration.
#[derive(Default, Clone)]
pub(crate) struct States(Arc<Mutex<HashMap<IntegrationKey, Arc<Mutex<IntegrationState>>>>>);

impl States {
    /// The state of an object; a new one when the object was recreated (another uid).
    pub(crate) fn get(&self, key: &IntegrationKey, uid: &str) -> Arc<Mutex<IntegrationState>> {
        let mut all = lock(&self.0);
        let entry = all.entry(key.clone()).or_default();
        let stale = {
            let s = lock(entry);
            !s.uid.is_empty() && s.uid != uid
        };
        if stale {
            lock(entry).job.stop();
            *entry = Arc::default();
        }
        lock(entry).uid = uid.to_string();
        entry.clone()
    }

    /// The state of an object only if it still exists with this uid (a late job finds nothing).
    pub(crate) fn existing(&self, key: &IntegrationKey, uid: &str) -> Option<Arc<Mutex<IntegrationState>>> {
        let all = lock(&self.0);
        let entry = all.get(key)?;
        (lock(entry).uid == uid).then(|| entry.clone())
    }

    /// Forgets an integration (deleted, or out of scope): its job is cancelled.
    pub(crate) fn remove(&self, key: &IntegrationKey) -> bool {
        let removed = lock(&self.0).remove(key);
        if let Some(state) = &removed {
            lock(state).job.stop();
        }
        removed.is_some()
    }

    /// Whether this replica holds a state for `key` (it owned the integration when it last looked).
    pub(crate) fn holds(&self, key: &IntegrationKey) -> bool {
        lock(&self.0).contains_key(key)
    }

    /// Keys of every known integration.
    pub(crate) fn keys(&self) -> Vec<IntegrationKey> {
        lock(&self.0).keys().cloned().collect()
    }

    /// Every state, for scrape-time metrics.
    pub(crate) fn all(&self) -> Vec<(IntegrationKey, Arc<Mutex<IntegrationState>>)> {
        lock(&self.0).iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Cancels every job (shutdown, lost lease).
    pub(crate) fn cancel_all(&self) {
        for (_, state) in self.all() {
            lock(&state).job.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(bytes: u64) -> CheckpointStatus {
        CheckpointStatus { state: "Saved".into(), bytes, parts: 1, saved_at: None }
    }

    #[test]
    fn a_failed_save_leaves_nothing_to_keep_until_a_save_succeeds() {
        let mut record = SyncRecord::default();
        assert!(record.keepable().is_none(), "none written yet");
        record.record_saving(Saving::Written(status(7)));
        let kept = record.keepable().map(|k| (k.status.bytes, k.read_since));
        assert_eq!(kept, Some((7, 0)));
        record.record_saving(Saving::Kept { pending: 40 });
        assert_eq!(record.keepable().map(|k| k.read_since), Some(40), "reads since add up in the job");
        record.record_saving(Saving::Failed);
        assert!(record.keepable().is_none(), "the checkpoint status shows may be behind or broken");
        record.record_saving(Saving::Kept { pending: 1 });
        assert!(record.keepable().is_none(), "a kept one never clears a failed save");
        record.record_saving(Saving::Written(status(9)));
        assert_eq!(record.keepable().map(|k| (k.status.bytes, k.read_since)), Some((9, 0)));
    }
}
