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

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{DeleteParams, ListParams, Preconditions};
use kube::{Api, ResourceExt};
use sha2::{Digest, Sha256};

use super::leader::{LeaderElector, LeaseConfig, Observed};
pub(crate) use super::membership::Membership;
use crate::sync::lock;

/// The label every shard Lease carries, valued with the shard group (the Lease prefix).
pub(crate) const SHARD_LABEL: &str = "dti.dev/shard-of";

/// What this replica last saw of each shard Lease, by name.
#[derive(Default)]
struct Seen(BTreeMap<String, Option<Observed>>);

impl Seen {
    /// The holder of `lease` when it is alive: held, and not unchanged for its duration on our clock.
    fn live_holder(&mut self, lease: &Lease, now: Instant) -> Option<String> {
        let spec = lease.spec.as_ref()?;
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
        let seen = self.0.entry(lease.name_any()).or_default();
        (!Observed::expired(seen, spec, now)).then_some(holder)
    }
}

/// This replica's side of sharding: its own Lease, and the others'.
pub(crate) struct ShardElector {
    lease: LeaderElector,
    api: Api<Lease>,
    group: String,
    config: LeaseConfig,
    observed: Mutex<Seen>,
    pub(crate) membership: std::sync::Arc<Membership>,
}

/// The name of the Lease of replica `identity` in shard group `group`: a DNS label whatever the identity.
pub(crate) fn lease_name(group: &str, identity: &str) -> String {
    let digest = Sha256::digest(identity.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{group}-{hex}")
}

impl ShardElector {
    /// `config.name` is the shard group (the chart's release name); each replica's Lease is named from it.
    pub(crate) fn new(client: kube::Client, config: LeaseConfig) -> ShardElector {
        let group = config.name.clone();
        let own = LeaseConfig {
            name: lease_name(&group, &config.identity),
            labels: BTreeMap::from([(SHARD_LABEL.to_string(), group.clone())]),
            ..config.clone()
        };
        // A live owner notices a change within a retry period, and a stalled one is fenced off after the
        // renew deadline: waiting the lease duration covers both.
        let membership = std::sync::Arc::new(Membership::new(config.identity.clone(), config.duration));
        ShardElector {
            lease: LeaderElector::new(client.clone(), own),
            api: Api::namespaced(client, &config.namespace),
            group,
            config,
            observed: Mutex::new(Seen::default()),
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
        let work = async {
            if !self.lease.try_acquire().await.map_err(|e| e.to_string())? {
                return Err("another process holds this replica's Lease".to_string());
            }
            let selector = format!("{SHARD_LABEL}={}", self.group);
            self.api.list(&ListParams::default().labels(&selector)).await.map_err(|e| e.to_string())
        };
        let leases = match tokio::time::timeout(self.config.renew_deadline, work).await {
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
        if !live.contains(&self.config.identity) {
            live.push(self.config.identity.clone()); // renewed just now, whatever the list said
        }
        self.lease.extend_fence(started + self.config.renew_deadline);
        let due = self.membership.expire(now);
        let changed = self.membership.update(live, now);
        self.sweep(dead).await;
        Ok(changed || due)
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
}
