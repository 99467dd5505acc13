//! What every reconcile and sync job shares.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::mpsc::UnboundedSender;
use kube::Client;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::Semaphore;

use super::events::Recorder;
use super::leader::Fence;
use super::metrics::Metrics;
use super::state::States;
use super::state_cache::StateCache;
use crate::crd::OktaIntegration;
use crate::okta::{Auth, ClientOptions, DomainPolicy, GovernorRegistry, OktaClient, OktaError, OrgUrl};
use crate::sync::lock;

/// Settings from the command line.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) domain_policy: DomainPolicy,
    pub(crate) client_options: ClientOptions,
    pub(crate) max_concurrent_syncs: usize,
    pub(crate) sync_timeout: Duration,
    /// How long an access check may take before the org counts as unreachable.
    pub(crate) access_timeout: Duration,
    /// Delay before retrying after a failed sync (capped by spec.syncInterval).
    pub(crate) retry_after_failure: Duration,
    /// How often a problem that needs a person is checked again anyway (an Okta incident heals by itself).
    pub(crate) stalled_recheck: Duration,
    /// How often a transient access problem is checked again.
    pub(crate) transient_recheck: Duration,
    /// One integration's OktaApp writes in flight at once, and their pace per second, so 10,000 apps never
    /// flood the API server.
    pub(crate) app_write_concurrency: usize,
    pub(crate) app_writes_per_second: f64,
    /// OktaApp writes in flight at once over all integrations.
    pub(crate) app_writes_in_flight: usize,
    /// Largest checkpoint saved, compressed; past it the next start scans in full.
    pub(crate) checkpoint_cap: usize,
    /// How long an incremental sync that read little may leave the saved checkpoint as it is (zero: a
    /// checkpoint after every sync).
    pub(crate) checkpoint_max_age: Duration,
    /// Bytes of sync states kept in memory between syncs.
    pub(crate) state_cache: usize,
    /// Per-app metric series for each integration's top N apps.
    pub(crate) metrics_top_apps: usize,
    /// Tests only: sync jobs honour the dti.dev/test-panic annotation.
    pub(crate) test_faults: bool,
    /// The syncs' clock (a test's file only with --insecure-allow-http).
    pub(crate) clock: crate::discovery::Clock,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            domain_policy: DomainPolicy::default(),
            client_options: ClientOptions::default(),
            max_concurrent_syncs: 4,
            sync_timeout: Duration::from_secs(6 * 3600),
            access_timeout: Duration::from_secs(60),
            retry_after_failure: Duration::from_secs(300),
            stalled_recheck: Duration::from_secs(1800),
            transient_recheck: Duration::from_secs(60),
            app_write_concurrency: 4,
            app_writes_per_second: 20.0,
            app_writes_in_flight: 32,
            checkpoint_cap: 16 * 1024 * 1024,
            checkpoint_max_age: Duration::from_secs(6 * 3600),
            state_cache: 128 * 1024 * 1024,
            metrics_top_apps: 10,
            test_faults: false,
            clock: crate::discovery::Clock::System,
        }
    }
}

pub(crate) struct Context {
    pub(crate) client: Client,
    pub(crate) recorder: Recorder,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) states: States,
    /// Sync states between syncs, bounded (the rest come back from checkpoints).
    pub(crate) state_cache: Arc<StateCache>,
    pub(crate) governors: Arc<GovernorRegistry>,
    /// Syncs reading Okta (loading their state, fetching): `--max-concurrent-syncs`.
    pub(crate) sync_slots: Arc<Semaphore>,
    /// Finished syncs writing their OktaApps and checkpoint, as many: a sync's slot goes to the next one
    /// while the API server takes its writes, so a burst of results never idles the reads.
    pub(crate) write_slots: Arc<Semaphore>,
    /// OktaApp writes in flight over the whole process (`--app-writes-in-flight`): a burst of finished
    /// syncs queues here, not in the API server's queue, which the Lease rounds share.
    pub(crate) app_write_slots: Arc<Semaphore>,
    pub(crate) options: Options,
    pub(crate) fence: Fence,
    pub(crate) jobs: super::tracker::Tracker,
    /// Seals and checks every checkpoint.
    pub(crate) checkpoint_key: super::checkpoint_key::CheckpointKey,
    /// OktaApps the operator is deleting itself (their watch events cause no sync).
    pub(crate) expected_deletions: super::tracker::ExpectedDeletions,
    triggers: Mutex<Vec<UnboundedSender<ObjectRef<OktaIntegration>>>>,
}

/// What a Context is made of (the rest it makes itself).
pub(crate) struct Parts {
    pub(crate) client: Client,
    pub(crate) options: Options,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) states: States,
    pub(crate) state_cache: Arc<StateCache>,
    pub(crate) governors: Arc<GovernorRegistry>,
    pub(crate) fence: Fence,
    /// This replica's name, as events report it.
    pub(crate) instance: String,
    pub(crate) checkpoint_key: super::checkpoint_key::CheckpointKey,
}

impl Context {
    pub(crate) fn new(parts: Parts) -> Context {
        let Parts { client, options, metrics, states, state_cache, governors, fence, instance, checkpoint_key } = parts;
        Context {
            recorder: Recorder::new(client.clone(), instance),
            client,
            metrics,
            states,
            state_cache,
            governors,
            sync_slots: Arc::new(Semaphore::new(options.max_concurrent_syncs.max(1))),
            write_slots: Arc::new(Semaphore::new(options.max_concurrent_syncs.max(1))),
            app_write_slots: Arc::new(Semaphore::new(options.app_writes_in_flight.max(1))),
            options,
            fence,
            jobs: super::tracker::Tracker::default(),
            checkpoint_key,
            expected_deletions: Default::default(),
            triggers: Mutex::new(Vec::new()),
        }
    }

    /// A client for one org; every integration on that org shares its rate governor.
    pub(crate) fn okta_client(&self, org: OrgUrl, auth: Auth) -> Result<OktaClient, OktaError> {
        let governor = self.governors.for_org(&org, self.options.client_options.max_in_flight);
        let client = OktaClient::new(org, auth, governor, self.options.client_options.clone())?;
        Ok(client.with_observer(self.metrics.clone()))
    }

    /// Forgets an integration (deleted, or out of scope): its job is cancelled and its kept sync state
    /// dropped; true when it was known.
    pub(crate) fn forget(&self, key: &super::shared::IntegrationKey) -> bool {
        self.state_cache.forget(key);
        self.metrics.record_state_cache(self.state_cache.usage());
        self.states.remove(key)
    }

    /// Whether `key` changed hands here since it was last reconciled: owned now but not held (taken over,
    /// or its handover wait just ended), or held but no longer owned (given up).
    pub(crate) fn changed_hands(&self, key: &super::shared::IntegrationKey) -> bool {
        self.fence.owns(key) != self.states.holds(key)
    }

    /// Keeps a finished sync's state for the integration's next sync, unless the integration was forgotten
    /// meanwhile (moved away, deleted): `forget` drops the cached state before the integration's, so a state
    /// put back in between is dropped here.
    pub(crate) fn keep_state(&self, key: &super::shared::IntegrationKey, uid: &str, state: crate::discovery::OrgState) {
        self.state_cache.put(key, uid, state);
        if self.states.existing(key, uid).is_none() {
            self.state_cache.forget(key);
        }
        self.metrics.record_state_cache(self.state_cache.usage());
    }

    pub(crate) fn add_trigger(&self, sender: UnboundedSender<ObjectRef<OktaIntegration>>) {
        lock(&self.triggers).push(sender);
    }

    /// Asks for a reconcile of an object now (a sync job finished).
    pub(crate) fn trigger(&self, obj_ref: ObjectRef<OktaIntegration>) {
        for sender in lock(&self.triggers).iter() {
            let _ = sender.unbounded_send(obj_ref.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::controller::membership::{Member, Membership, View};
    use crate::controller::shared::IntegrationKey;

    fn view(names: &[&str]) -> View {
        View::new(names.iter().map(|n| Member { name: n.to_string(), pool: String::new() }).collect(), BTreeMap::new())
    }

    /// The integrations a change of the shard group reconciles: only those that changed hands here.
    #[tokio::test]
    async fn only_integrations_that_changed_hands_are_reconciled_again() {
        let membership = Arc::new(Membership::new("b".into(), Duration::from_secs(15)));
        let long_ago = Instant::now().checked_sub(Duration::from_secs(60)).unwrap_or_else(Instant::now);
        membership.update(view(&["b"]), long_ago);
        let (ctx, _server) =
            crate::controller::testing::context_fenced(Options::default(), Fence::open().sharded(membership.clone()));
        let keys: Vec<IntegrationKey> = (0..40).map(|i| IntegrationKey::new("ns", &format!("org-{i}"))).collect();
        let changed = || keys.iter().filter(|k| ctx.changed_hands(k)).cloned().collect::<Vec<_>>();
        assert_eq!(changed(), keys, "alone, b owns all and holds none yet");
        keys.iter().for_each(|k| drop(ctx.states.get(k, "uid")));
        assert!(changed().is_empty(), "reconciled: nothing to do on the next change");
        membership.update(view(&["a", "b"]), Instant::now());
        let given_up = changed();
        assert!(!given_up.is_empty() && given_up.len() < keys.len(), "a joined: only a's share is given up");
        assert!(given_up.iter().all(|k| !ctx.fence.owns(k)));
        assert!(given_up.iter().all(|k| ctx.forget(k)));
        assert!(changed().is_empty(), "b's own integrations are left alone");
        membership.update(view(&["b"]), Instant::now());
        assert_eq!(changed(), given_up, "a died: b takes back exactly a's, at once");
    }
}
