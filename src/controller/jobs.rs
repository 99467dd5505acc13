//! Sync jobs: run in the background (a reconcile never waits for one), at most one per integration and
//! `--max-concurrent-syncs` overall; they record their outcome, write status and ask for a reconcile.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};

use super::context::Context;
use super::reconcile::write_status;
use super::state::{AccessProblem, IntegrationState, RunningSync};
use super::status::time;
use crate::crd::{LastSync, OktaIntegration, SyncResult, parse_go_duration, parse_usage_window};
use crate::discovery::{DiscoveryError, Progress, UsageLedger};
use crate::okta::{ApiToken, OrgUrl};

/// Starts a sync job for `obj` and records it as running in `st`.
pub fn start(
    ctx: &Arc<Context>,
    st: &mut IntegrationState,
    obj: &OktaIntegration,
    org: OrgUrl,
    token: ApiToken,
    fingerprint: u64,
) {
    let ledger_key = (
        obj.spec.domain.to_ascii_lowercase(),
        obj.spec.usage_window.clone(),
    );
    let ledger = if st.ledger_key.as_ref() == Some(&ledger_key) {
        st.ledger.take()
    } else {
        None
    };
    st.ledger_key = Some(ledger_key);
    let generation = obj.metadata.generation.unwrap_or(0);
    let started = Utc::now();
    let job = tokio::spawn(run(ctx.clone(), obj.clone(), org, token, ledger, started));
    st.running = Some(RunningSync {
        generation,
        token_fingerprint: fingerprint,
        started,
        abort: job.abort_handle(),
    });
    st.attempted_generation = Some(generation);
}

/// Stops a running job (spec changed, token rotated, object deleted).
pub fn cancel(st: &mut IntegrationState) {
    if let Some(job) = st.running.take() {
        job.abort.abort();
        st.ledger = None; // the job may have half-fed it
    }
}

async fn run(
    ctx: Arc<Context>,
    obj: OktaIntegration,
    org: OrgUrl,
    token: ApiToken,
    ledger: Option<UsageLedger>,
    started: chrono::DateTime<Utc>,
) {
    let namespace = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let key = format!("{namespace}/{name}");
    let _slot = ctx.sync_slots.clone().acquire_owned().await;
    let days = parse_usage_window(&obj.spec.usage_window)
        .map(|w| (w.as_secs() / 86_400) as u32)
        .unwrap_or(30);
    let interval =
        parse_go_duration(&obj.spec.sync_interval).unwrap_or(std::time::Duration::from_secs(3600));
    let mut ledger = ledger.unwrap_or_default();
    let incremental = ledger.cursor.is_some();
    let progress = Progress::default();
    let clock = Instant::now();
    tracing::info!(integration = %key, incremental, "sync started");
    let outcome = match ctx.okta_client(org, token) {
        Err(e) => Err(DiscoveryError::Okta(e)),
        Ok(client) => {
            let result = tokio::time::timeout(
                ctx.options.sync_timeout,
                crate::discovery::sync(&client, &obj.spec.domain, days, &mut ledger, &progress),
            )
            .await;
            let stats = client.stats();
            let counters = (
                stats.requests.load(std::sync::atomic::Ordering::Relaxed),
                stats.rate_limit_wait().as_secs_f64(),
            );
            match result {
                Ok(r) => r.map(|d| (d, counters)),
                Err(_) => Err(DiscoveryError::Okta(crate::okta::OktaError::Deadline(
                    ctx.options.sync_timeout,
                ))),
            }
        }
    };
    let took = clock.elapsed();
    let completed = Utc::now();
    let state = ctx
        .states
        .get(&key, obj.uid().as_deref().unwrap_or_default());
    let mut events: Vec<(bool, &str, String)> = Vec::new();
    {
        let Ok(mut st) = state.lock() else { return };
        if st.running.as_ref().is_none_or(|r| r.started != started) {
            return; // cancelled and replaced meanwhile
        }
        st.running = None;
        let duration = (took.as_secs_f64() * 1000.0).round() / 1000.0;
        match outcome {
            Ok((discovery, (requests, waited))) => {
                let report = discovery.report;
                let previous: HashSet<&str> = st.apps.iter().map(|a| a.id.as_str()).collect();
                let new_apps: Vec<String> =
                    if st.summary.is_some() && st.apps.len() == st.apps_total {
                        report
                            .apps
                            .iter()
                            .filter(|a| !previous.contains(a.id.as_str()))
                            .map(|a| a.label.clone())
                            .collect()
                    } else {
                        Vec::new()
                    };
                let s = &report.summary;
                events.push((false, "SyncSucceeded", format!(
                    "synced {} apps ({} used, {} unused), {} users ({} active), {} sign-ins over {} in {:.1}s with {} Okta requests{}",
                    s.apps, s.used_apps, s.unused_apps, s.users, s.active_users, s.sso_events, report.usage_window, duration, requests,
                    if incremental { " (incremental System Log read)" } else { "" }
                )));
                if !new_apps.is_empty() {
                    events.push((
                        false,
                        "NewAppsDiscovered",
                        format!(
                            "{} new app(s) since the previous sync: {}",
                            new_apps.len(),
                            new_apps.join(", ")
                        ),
                    ));
                }
                ctx.metrics.record_report(&namespace, &name, &report);
                ctx.metrics.record_sync("succeeded", took);
                st.last_sync = Some(LastSync {
                    started_at: time(started),
                    completed_at: Some(time(completed)),
                    duration_seconds: Some(duration),
                    result: SyncResult::Succeeded,
                    api_requests: requests,
                    rate_limit_wait_seconds: (waited * 1000.0).round() / 1000.0,
                    users_scanned: discovery.users_scanned,
                    events_scanned: discovery.events_scanned,
                    message: Some(if incremental {
                        "incremental: read new System Log events only".into()
                    } else {
                        "full scan of the usage window".into()
                    }),
                });
                st.summary = Some(report.summary.clone());
                st.apps_total = report.apps.len();
                st.apps = report.apps;
                st.last_sync_ok = true;
                st.synced_generation = obj.metadata.generation;
                st.next_sync_at =
                    Some(completed + chrono::Duration::from_std(interval).unwrap_or_default());
                st.ledger = Some(ledger);
                tracing::info!(integration = %key, requests, seconds = duration, "sync succeeded");
            }
            Err(e) => {
                let message = e.to_string();
                match &e {
                    DiscoveryError::InvalidToken { .. } => {
                        set_problem(
                            &mut st,
                            AccessProblem {
                                reason: "InvalidToken",
                                message: message.clone(),
                                stalled: true,
                            },
                        );
                    }
                    DiscoveryError::PermissionDenied { need, .. } => {
                        set_problem(
                            &mut st,
                            AccessProblem {
                                reason: "PermissionDenied",
                                message: message.clone(),
                                stalled: true,
                            },
                        );
                        if let Some(check) = st.access_check.as_mut() {
                            let field = match need {
                                crate::discovery::Need::Users => &mut check.access.users,
                                crate::discovery::Need::Applications => {
                                    &mut check.access.applications
                                }
                                crate::discovery::Need::SystemLog => &mut check.access.system_log,
                            };
                            *field = crate::crd::Permission::Denied;
                        }
                    }
                    DiscoveryError::Okta(_) => {}
                }
                events.push((
                    true,
                    "SyncFailed",
                    format!("sync failed after {:.1}s: {message}", took.as_secs_f64()),
                ));
                ctx.metrics.record_sync("failed", took);
                st.last_sync = Some(LastSync {
                    started_at: time(started),
                    completed_at: Some(time(completed)),
                    duration_seconds: Some(duration),
                    result: SyncResult::Failed,
                    api_requests: 0,
                    rate_limit_wait_seconds: 0.0,
                    users_scanned: 0,
                    events_scanned: progress.events.load(std::sync::atomic::Ordering::Relaxed),
                    message: Some(message.clone()),
                });
                st.last_sync_ok = false;
                let retry = ctx.options.retry_after_failure.min(interval);
                st.next_sync_at =
                    Some(completed + chrono::Duration::from_std(retry).unwrap_or_default());
                st.ledger = None;
                tracing::warn!(integration = %key, error = %message, "sync failed");
            }
        }
    }
    for (warning, reason, note) in events {
        ctx.event(&obj, warning, reason, "Sync", note).await;
    }
    let api: Api<OktaIntegration> = Api::namespaced(ctx.client.clone(), &namespace);
    if let Ok(Some(current)) = api.get_opt(&name).await {
        if let Err(e) = write_status(&ctx, &api, &current, &state).await {
            tracing::warn!(integration = %key, error = %e, "cannot write status after sync");
        }
        ctx.trigger(ObjectRef::from_obj(&current));
    }
}

fn set_problem(st: &mut IntegrationState, problem: AccessProblem) {
    if let Some(check) = st.access_check.as_mut() {
        check.problem = Some(problem);
    }
}
