//! Sync jobs: run in the background (a reconcile never waits for one), at most one per integration,
//! `--max-concurrent-syncs` reading Okta overall and as many more writing their results, each supervised:
//! a panic is noticed, recorded and rescheduled; a job that ends after its integration was deleted (or
//! replaced) finds no state and changes nothing. A job hands its outcome to the controller, which writes
//! status.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};

use super::apps;
use super::checkpoints;
use super::context::Context;
use super::events::Notice;
use super::outcome::{self, JobInfo, Outcome, Spent, Success};
use super::shared::IntegrationKey;
use super::state::{Keepable, RunningJob};
use super::steps::validate::Validated;
use crate::crd::OktaIntegration;
use crate::discovery::{Landmarks, OrgState, Progress, SyncError, SyncOutput};
use crate::okta::{OktaClient, OktaError};
use crate::sync::lock;

/// Everything a job needs, taken when it starts.
struct Job {
    key: IntegrationKey,
    uid: String,
    id: u64,
    obj: OktaIntegration,
    /// The org, credentials and the spec's sync settings.
    validated: Validated,
    /// The state kept in memory since its last sync (None: the checkpoint, else a full scan).
    engine: Option<OrgState>,
    /// The checkpoint a quiet sync may leave as it is (none after a failed save).
    keepable: Option<Keepable>,
    /// The starting state's landmarks: a sync that moved one saves its checkpoint whatever it read.
    landmarks: Option<Landmarks>,
}

/// Job ids: unique in the process, so a late supervisor never mistakes another job for its own.
static JOB_IDS: AtomicU64 = AtomicU64::new(1);

/// Starts a sync job for `obj`; the schedule step puts what it returns into the job slot.
pub(crate) fn start(
    ctx: &Arc<Context>,
    key: &IntegrationKey,
    obj: &OktaIntegration,
    validated: Validated,
    request: Option<String>,
    keepable: Option<Keepable>,
) -> RunningJob {
    let generation = obj.metadata.generation.unwrap_or(0);
    let fingerprint = validated.fingerprint;
    let uid = obj.uid().unwrap_or_default();
    let engine = ctx.state_cache.take(key, &uid);
    let lookup = if engine.is_some() { "hit" } else { "miss" };
    ctx.metrics.state_cache_lookups.get_or_create(&super::metrics::ResultLabels { result: lookup.into() }).inc();
    ctx.metrics.record_state_cache(ctx.state_cache.usage());
    let info = JobInfo {
        interval: validated.interval,
        retry_after_failure: ctx.options.retry_after_failure,
        request,
        generation,
    };
    let id = JOB_IDS.fetch_add(1, Ordering::Relaxed);
    let job = Job { key: key.clone(), uid, id, obj: obj.clone(), validated, engine, keepable, landmarks: None };
    let abort = spawn(ctx, job, info);
    RunningJob { id, generation, fingerprint, started: Utc::now(), abort }
}

/// Runs the job in a task of its own, supervised by another that hands its outcome over.
fn spawn(ctx: &Arc<Context>, job: Job, info: JobInfo) -> tokio::task::AbortHandle {
    let (key, uid, id) = (job.key.clone(), job.uid.clone(), job.id);
    let alive = ctx.jobs.enter();
    let worker = tokio::spawn({
        let ctx = ctx.clone();
        async move {
            let _alive = alive;
            run(ctx, job).await
        }
    });
    let abort = worker.abort_handle();
    tokio::spawn(supervise(ctx.clone(), key, uid, id, info, worker));
    abort
}

/// Waits for the worker and hands its outcome (or its panic) to the integration's state.
async fn supervise(
    ctx: Arc<Context>,
    key: IntegrationKey,
    uid: String,
    id: u64,
    info: JobInfo,
    worker: tokio::task::JoinHandle<Outcome>,
) {
    let outcome = match worker.await {
        Ok(outcome) => outcome,
        Err(e) if e.is_panic() => {
            let payload = e.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            tracing::error!(integration = %key, panic = %crate::text::message(&message), "a sync job panicked");
            ctx.metrics.record_sync("panicked", Duration::ZERO);
            Outcome::Panicked { message: crate::text::message(&message) }
        }
        Err(_) => return, // cancelled: whoever cancelled it already cleared the state
    };
    let Some(state) = ctx.states.existing(&key, &uid) else {
        return; // the integration was deleted or replaced meanwhile
    };
    let kept = {
        let mut st = lock(&state);
        if st.job.running.as_ref().is_none_or(|r| r.id != id) {
            return;
        }
        let job = st.job.running.take();
        job.and_then(|job| outcome::record(&mut st, job, outcome, info, Utc::now()))
    };
    if let Some(engine) = kept {
        ctx.keep_state(&key, &uid, engine);
    }
    ctx.trigger(ObjectRef::new(&key.name).within(&key.namespace));
}

fn spent(client: &crate::okta::OktaClient, progress: &Progress) -> Spent {
    let stats = client.stats();
    Spent {
        requests: stats.requests(),
        rate_limit_wait: stats.rate_limit_wait(),
        users_scanned: progress.users.load(Ordering::Relaxed),
        events_scanned: progress.events.load(Ordering::Relaxed),
    }
}

/// Tests only (`--allow-test-faults`): the annotation dti.dev/test-panic makes a job panic, once per
/// value, so supervision can be shown on a real cluster.
fn test_panic(ctx: &Context, obj: &OktaIntegration) {
    static PANICKED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let Some(value) = obj.annotations().get("dti.dev/test-panic").filter(|_| ctx.options.test_faults) else {
        return;
    };
    let first = {
        let mut seen = lock(&PANICKED);
        let first = !seen.contains(value);
        if first {
            seen.push(value.clone());
        }
        first
    };
    if first {
        panic!("test fault: dti.dev/test-panic={}", crate::text::field(value));
    }
}

async fn run(ctx: Arc<Context>, mut job: Job) -> Outcome {
    test_panic(&ctx, &job.obj);
    let reading = ctx.sync_slots.clone().acquire_owned().await;
    let clock = Instant::now();
    let client = match ctx.okta_client(job.validated.org.clone(), job.validated.auth.clone()) {
        Ok(c) => c,
        Err(e) => return Outcome::Failed { error: SyncError::Okta(e), spent: Spent::default() },
    };
    let (progress, mut notices) = (Progress::default(), Vec::new());
    let result = sync_within_deadline(&ctx, &mut job, &client, &progress, &mut notices).await;
    let (spent, took) = (spent(&client, &progress), clock.elapsed());
    match result {
        Ok((output, engine)) => {
            tracing::info!(integration = %job.key, requests = spent.requests, seconds = took.as_secs_f64(), "sync succeeded");
            ctx.metrics.record_sync("succeeded", took);
            let _writing = hand_over(reading, ctx.write_slots.clone()).await;
            Outcome::Succeeded(Box::new(publish_and_save(&ctx, &job, output, engine, spent, notices).await))
        }
        Err(error) => {
            tracing::warn!(integration = %job.key, error = %error, "sync failed");
            ctx.metrics.record_sync("failed", took);
            Outcome::Failed { error, spent }
        }
    }
}

/// A finished sync's turn to write: it waits for a write slot holding its read slot (so the finished
/// syncs waiting to write stay bounded), then gives the read slot to the next sync.
async fn hand_over<R>(reading: R, writes: Arc<Semaphore>) -> Result<OwnedSemaphorePermit, AcquireError> {
    let writing = writes.acquire_owned().await;
    drop(reading);
    writing
}

/// The state the sync starts from: the one kept in memory, else the checkpoint, else a full scan that
/// keeps the closed months and weeks status holds.
async fn starting_state(ctx: &Context, job: &mut Job, notices: &mut Vec<Notice>) -> OrgState {
    if let Some(engine) = job.engine.take() {
        return engine;
    }
    let (loaded, notice) = checkpoints::load(ctx, &job.key, &job.obj, &job.validated.config.key()).await;
    notices.extend(notice);
    match loaded {
        Some(state) => state,
        None => restored_history(ctx, job, notices).await,
    }
}

/// A state with no more than the closed months and weeks status keeps (no checkpoint could be used), or
/// a fresh one when there are none or they cannot be read.
async fn restored_history(ctx: &Context, job: &Job, notices: &mut Vec<Notice>) -> OrgState {
    let key = job.validated.config.key();
    if !job.validated.config.history.enabled() {
        return OrgState::default();
    }
    let apps = match super::apps::histories(ctx, &job.key, &job.obj).await {
        Ok(apps) => apps,
        Err(e) => {
            tracing::warn!(integration = %job.key, error = %crate::text::with_causes(&e), "cannot read the OktaApps' history; the apps' months start afresh");
            Vec::new()
        }
    };
    let now_ms = job.validated.config.clock.now().timestamp_millis();
    let (history, notice) = super::history::from_status(&job.obj, &apps, &key, now_ms);
    notices.extend(notice);
    OrgState { history, ..OrgState::new(key) }
}

/// Loads the starting state and syncs, both within the sync's deadline (nothing read back can hold a
/// job past it).
async fn sync_within_deadline(
    ctx: &Context,
    job: &mut Job,
    client: &OktaClient,
    progress: &Progress,
    notices: &mut Vec<Notice>,
) -> Result<(SyncOutput, OrgState), SyncError> {
    let deadline = tokio::time::Instant::now() + ctx.options.sync_timeout;
    let late = || SyncError::Okta(OktaError::Deadline(ctx.options.sync_timeout));
    let mut engine = tokio::time::timeout_at(deadline, starting_state(ctx, job, notices)).await.map_err(|_| late())?;
    job.landmarks = Some(engine.landmarks());
    tracing::info!(integration = %job.key, "sync started");
    let sync = crate::discovery::sync(client, job.validated.kind, &job.validated.config, &mut engine, progress);
    let output = tokio::time::timeout_at(deadline, sync).await.map_err(|_| late())??;
    Ok((output, engine))
}

/// After a successful sync: the OktaApps, then the checkpoint.
async fn publish_and_save(
    ctx: &Context,
    job: &Job,
    output: SyncOutput,
    engine: OrgState,
    spent: Spent,
    mut notices: Vec<Notice>,
) -> Success {
    notices.extend(apps::publish(ctx, &job.key, &job.obj, &engine, &output).await);
    let quiet =
        output.mode == crate::discovery::Mode::Incremental && job.landmarks.as_ref() == Some(&engine.landmarks());
    let read = spent.events_scanned.saturating_add(spent.users_scanned);
    let kept = job.keepable.as_ref().filter(|_| quiet);
    let (saving, notice) = checkpoints::save_unless_recent(ctx, &job.key, &job.obj, &engine, kept, read).await;
    notices.extend(notice);
    let (user_list, notice) = super::user_list::update(ctx, &job.key, &job.obj, &engine, &job.validated.config).await;
    notices.extend(notice);
    Success { output, engine, spent, saving, user_list, notices }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_finished_sync_gives_its_read_slot_to_the_next_once_it_may_write() {
        let (reads, writes) = (Arc::new(Semaphore::new(1)), Arc::new(Semaphore::new(1)));
        let first = reads.clone().acquire_owned().await.unwrap();
        let first_writing = hand_over(first, writes.clone()).await.unwrap();
        assert_eq!(reads.available_permits(), 1, "the next sync reads while the first writes");

        let second = reads.clone().acquire_owned().await.unwrap();
        let mut second_writing = Box::pin(hand_over(second, writes.clone()));
        let waited = tokio::time::timeout(Duration::from_millis(50), &mut second_writing).await;
        assert!(waited.is_err(), "no write slot is free, so the second waits");
        assert_eq!(reads.available_permits(), 0, "and keeps its read slot meanwhile: the waiting stay bounded");

        drop(first_writing);
        let _second_writing = second_writing.await.unwrap();
        assert_eq!(reads.available_permits(), 1);
    }
}
