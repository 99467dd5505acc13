//! Shards across replicas (`run --sharding`): every replica holds a Lease of its own (labelled as one of
//! this operator's shards) and owns the integrations that rendezvous hashing of their namespace/name
//! assigns to the live replicas, the way timebertt/kubernetes-controller-sharding assigns objects to live
//! shards, but with no sharder in between: each replica computes the same assignment from the same Leases.
//!
//! Liveness is judged as client-go's leader election judges a lease: by this replica's own monotonic
//! clock (a Lease whose record has not changed for its duration is dead), never by comparing another
//! host's renewTime with ours. Each round renews our Lease *and* lists the others; only a round where both
//! succeed extends the write fence, so a replica whose view may be stale stops writing within the renew
//! deadline, as a leader does.
//!
//! Handover without two writers: a replica gives an integration up as soon as its view says so (its
//! writes are refused from then on), but takes one over from a replica that is still alive only after
//! the handover time (the lease duration) has passed since its view changed, longer than the other side
//! needs to notice (one retry period) or to have its fence shut (the renew deadline). An integration of a
//! dead replica, or of one that released its Lease on shutdown, is taken at once: its fence is already shut.
//! Rendezvous hashing moves only the integrations of the replica that left, or about 1/N of them to one
//! that joined.
//!
//! Pools: a replica started with `--shard-pool NAME` carries the pool on its Lease and owns only the
//! integrations labelled `dti.dev/shard-pool: NAME`, hashed among that pool's live replicas; unlabelled
//! ones share the default pool. Each round lists the labelled integrations (metadata, a consistent read)
//! with the Leases, so a pin is part of the view and moves an integration under the same handover rule:
//! the old owner stops when its round sees the label, the new one starts a lease duration after its own.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{DeleteParams, ListParams, Preconditions};
use kube::{Api, ResourceExt};
use sha2::{Digest, Sha256};

use super::leader::{LeaderElector, LeaseConfig, Observed};
pub(crate) use super::membership::Membership;
use super::membership::{Member, View, key_text};
use super::shared::IntegrationKey;
use crate::crd::OktaIntegration;
use crate::sync::lock;

/// The label every shard Lease carries, valued with the shard group (the Lease prefix).
pub(crate) const SHARD_LABEL: &str = "dti.dev/shard-of";
/// The label that pins an integration to a pool, and that a pool replica's Lease carries.
pub(crate) const POOL_LABEL: &str = "dti.dev/shard-pool";

/// How a replica shares the integrations: its Lease (`lease.name` is the group) and its pool ("" for the
/// default pool).
#[derive(Clone, Debug)]
pub(crate) struct ShardConfig {
    pub(crate) lease: LeaseConfig,
    pub(crate) pool: String,
}

/// Whether `pool` can be a label value (Kubernetes: at most 63 characters, alphanumerics with '-', '_'
/// or '.' inside); "" is the default pool.
pub(crate) fn valid_pool(pool: &str) -> bool {
    let inner = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    pool.is_empty()
        || (pool.len() <= 63
            && pool.chars().all(inner)
            && pool.starts_with(|c: char| c.is_ascii_alphanumeric())
            && pool.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// What this replica last saw of each shard Lease, by name.
#[derive(Default)]
struct Seen(BTreeMap<String, Option<Observed>>);

impl Seen {
    /// The holder of `lease` and its pool when it is alive: held, and not unchanged for its duration on
    /// our clock.
    fn live_holder(&mut self, lease: &Lease, now: Instant) -> Option<Member> {
        let spec = lease.spec.as_ref()?;
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
        let seen = self.0.entry(lease.name_any()).or_default();
        let pool = lease.labels().get(POOL_LABEL).cloned().unwrap_or_default();
        (!Observed::expired(seen, spec, now)).then_some(Member { name: holder, pool })
    }
}

/// This replica's side of sharding: its own Lease, and the others'.
pub(crate) struct ShardElector {
    lease: LeaderElector,
    api: Api<Lease>,
    /// Where pinned integrations are listed: the watched namespaces (None: all).
    integrations: Vec<Api<OktaIntegration>>,
    group: String,
    config: LeaseConfig,
    pool: String,
    observed: Mutex<Seen>,
    /// Pinned integrations with no live replica in their pool, as last reported.
    stranded: Mutex<usize>,
    pub(crate) membership: std::sync::Arc<Membership>,
}

/// How long a replica waits before it takes an integration from a live one. The old owner notices the
/// change within a retry period, or is fenced off after the renew deadline; a write it let through just
/// before then still lands or fails within the API request timeout. (A dead owner's go at once.)
fn handover(config: &LeaseConfig) -> Duration {
    config.duration.max(config.renew_deadline + super::API_REQUEST_TIMEOUT)
}

/// The name of the Lease of replica `identity` in shard group `group`: a DNS label whatever the identity.
pub(crate) fn lease_name(group: &str, identity: &str) -> String {
    let digest = Sha256::digest(identity.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{group}-{hex}")
}

impl ShardElector {
    /// `config.lease.name` is the shard group (the chart's release name); each replica's Lease is named
    /// from it. Pinned integrations are looked for in `scopes` (the watched namespaces; None: all).
    pub(crate) fn new(client: kube::Client, shard: ShardConfig, scopes: &[Option<String>]) -> ShardElector {
        let (config, pool) = (shard.lease, shard.pool);
        let group = config.name.clone();
        let mut labels = BTreeMap::from([(SHARD_LABEL.to_string(), group.clone())]);
        if !pool.is_empty() {
            labels.insert(POOL_LABEL.to_string(), pool.clone());
        }
        let own = LeaseConfig { name: lease_name(&group, &config.identity), labels, ..config.clone() };
        let integrations = scopes
            .iter()
            .map(|scope| match scope {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            })
            .collect();
        let membership = std::sync::Arc::new(Membership::new(config.identity.clone(), handover(&config)));
        ShardElector {
            lease: LeaderElector::new(client.clone(), own),
            api: Api::namespaced(client, &config.namespace),
            integrations,
            group,
            config,
            pool,
            observed: Mutex::new(Seen::default()),
            stranded: Mutex::new(0),
            membership,
        }
    }

    pub(crate) fn lease(&self) -> &LeaderElector {
        &self.lease
    }

    /// One round: renew our Lease, list the group's, update the view. The fence is extended only when
    /// both succeeded within the renew deadline; Ok(changed) says whether anything may have moved.
    async fn round(&self) -> Result<bool, String> {
        let started = Instant::now();
        // The renewal and the two lists at once: a round on a slow API server is then as long as its
        // slowest part, not their sum, and the fence it extends does not lapse before the next one.
        let work = async {
            let selector = format!("{SHARD_LABEL}={}", self.group);
            let renew = async {
                match self.lease.try_acquire().await.map_err(|e| crate::text::with_causes(&e))? {
                    true => Ok(()),
                    false => Err("another process holds this replica's Lease".to_string()),
                }
            };
            let leases = async {
                self.api.list(&ListParams::default().labels(&selector)).await.map_err(|e| crate::text::with_causes(&e))
            };
            let ((), leases, pins) = tokio::try_join!(renew, leases, self.pins())?;
            Ok::<_, String>((leases, pins))
        };
        let (leases, pins) = match tokio::time::timeout(self.config.renew_deadline, work).await {
            Ok(result) => result?,
            Err(_) => return Err(format!("no answer within {:?}", self.config.renew_deadline)),
        };
        let now = Instant::now();
        let mut live = Vec::new();
        let mut dead = Vec::new();
        {
            let mut observed = lock(&self.observed);
            for lease in &leases.items {
                match observed.live_holder(lease, now) {
                    Some(holder) => live.push(holder),
                    None => dead.push(lease.clone()),
                }
            }
            let names: Vec<String> = leases.items.iter().map(|l| l.name_any()).collect();
            observed.0.retain(|name, _| names.contains(name));
        }
        if !live.iter().any(|m| m.name == self.config.identity) {
            // renewed just now, whatever the list said
            live.push(Member { name: self.config.identity.clone(), pool: self.pool.clone() });
        }
        self.lease.extend_fence(started + self.config.renew_deadline);
        let due = self.membership.expire(now);
        let view = View::new(live, pins);
        self.report_stranded(&view);
        let changed = self.membership.update(view, now);
        self.sweep(dead).await;
        Ok(changed || due)
    }

    /// The integrations pinned to a pool, by namespace/name (metadata only, a consistent read).
    async fn pins(&self) -> Result<BTreeMap<String, String>, String> {
        let mut pins = BTreeMap::new();
        for api in &self.integrations {
            let list = api
                .list_metadata(&ListParams::default().labels(POOL_LABEL))
                .await
                .map_err(|e| crate::text::with_causes(&e))?;
            for item in list.items {
                let (Some(ns), Some(pool)) = (item.namespace(), item.labels().get(POOL_LABEL)) else {
                    continue;
                };
                pins.insert(key_text(&IntegrationKey::new(&ns, &item.name_any())), pool.clone());
            }
        }
        Ok(pins)
    }

    /// Warns when integrations are pinned to a pool with no live replica (nobody syncs them), once per
    /// change in their number.
    fn report_stranded(&self, view: &View) {
        let stranded = view.stranded();
        let mut last = lock(&self.stranded);
        if stranded.len() != *last {
            *last = stranded.len();
            if let Some((key, pool)) = stranded.first() {
                tracing::warn!(
                    count = stranded.len(),
                    example = %crate::text::field(key),
                    pool = %crate::text::field(pool),
                    "integrations are pinned ({POOL_LABEL}) to a pool no live replica serves: nobody syncs them"
                );
            }
        }
    }

    /// Deletes Leases of replicas that are gone (released, or dead), on their resourceVersion so a
    /// renewal in between wins.
    async fn sweep(&self, dead: Vec<Lease>) {
        for lease in dead {
            let precondition = Preconditions { resource_version: lease.resource_version(), uid: None };
            let params = DeleteParams { preconditions: Some(precondition), ..DeleteParams::default() };
            let _ = self.api.delete(&lease.name_any(), &params).await;
        }
    }

    /// Renews and watches the group until the fence lapses (rounds failing past the renew deadline, or
    /// this process paused): then the fence is shut for good and this returns, and the process stops as a
    /// leader that lost its lease does (a restarted one joins afresh, under a new identity, and waits out
    /// the handover). `moved` is told each time integrations may have changed hands.
    pub(crate) async fn hold(&self, moved: tokio::sync::watch::Sender<u64>) {
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            if self.lease.fence().check().is_err() {
                break; // checked before renewing: a paused process must not carry on with its old view
            }
            match self.round().await {
                Ok(true) => moved.send_modify(|epoch| *epoch += 1),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "sharding: cannot renew this replica's Lease or list the others"),
            }
        }
        self.lease.fence().close();
    }

    /// Takes this replica's Lease for the first time (a fresh name: nobody else holds it).
    pub(crate) async fn join(&self) {
        loop {
            match self.round().await {
                Ok(_) => return,
                Err(e) => tracing::warn!(error = %e, "sharding: cannot take this replica's Lease yet"),
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_names_are_dns_labels_whatever_the_identity() {
        let name = lease_name("dti-operator", "pod/../x y-1234");
        assert!(name.starts_with("dti-operator-") && name.len() == "dti-operator-".len() + 12);
        assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert_ne!(lease_name("g", "a"), lease_name("g", "b"));
    }

    #[test]
    fn a_pool_is_a_label_value() {
        for ok in ["", "vip", "eu-1", "a.b_c", &"x".repeat(63)] {
            assert!(valid_pool(ok), "{ok}");
        }
        for bad in ["-vip", "vip-", "v p", "vip/1", &"x".repeat(64), "é"] {
            assert!(!valid_pool(bad), "{bad}");
        }
    }
}
