//! Leader election on a coordination.k8s.io Lease, after client-go's leaderelection: a standby judges a
//! lease expired by its own monotonic clock (the lease record has not changed for leaseDuration since it
//! saw it), never by comparing the holder's renewTime with its own clock; renewals time out; and every
//! write goes through a [`Fence`] that is open only until the last successful renewal's deadline, so a
//! leader that stalls (SIGSTOP, a hung connection) writes nothing once its lease may have passed on.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

pub(crate) use super::fence::{Fence, Fenced};
use crate::sync::lock;

#[derive(Clone, Debug)]
pub(crate) struct LeaseConfig {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) identity: String,
    /// How long a lease holds without renewal (client-go LeaseDuration).
    pub(crate) duration: Duration,
    /// How long the leader keeps trying to renew before it stops working (client-go RenewDeadline).
    pub(crate) renew_deadline: Duration,
    /// How often the leader renews and a standby retries (client-go RetryPeriod).
    pub(crate) retry_period: Duration,
    /// Labels of the Lease when this process creates it (a shard's Lease carries its group).
    pub(crate) labels: std::collections::BTreeMap<String, String>,
}

impl LeaseConfig {
    /// client-go's proportions: renew deadline 2/3 and retry period 2/15 of the lease duration.
    pub(crate) fn with_duration(namespace: String, name: String, identity: String, duration: Duration) -> LeaseConfig {
        LeaseConfig {
            namespace,
            name,
            identity,
            duration,
            renew_deadline: duration * 2 / 3,
            retry_period: (duration * 2 / 15).max(Duration::from_millis(500)),
            labels: Default::default(),
        }
    }
}

/// The parts of a lease that change when its holder renews it.
#[derive(Debug, PartialEq, Eq)]
struct LeaseRecord {
    holder: Option<String>,
    renewed: Option<String>,
    duration_seconds: Option<i32>,
}

impl LeaseRecord {
    fn of(spec: &LeaseSpec) -> LeaseRecord {
        LeaseRecord {
            holder: spec.holder_identity.clone(),
            renewed: spec.renew_time.as_ref().map(|t| t.0.to_string()),
            duration_seconds: spec.lease_duration_seconds,
        }
    }
}

/// What this process last saw of a lease, and when (on its own clock).
pub(crate) struct Observed {
    record: LeaseRecord,
    at: Instant,
}

impl Observed {
    /// Whether the lease, as read now, has gone unchanged for its duration on this process's clock (as
    /// client-go judges it: never by comparing the holder's renewTime with our clock); `seen` keeps what
    /// was last seen of it.
    pub(crate) fn expired(seen: &mut Option<Observed>, spec: &LeaseSpec, now: Instant) -> bool {
        let record = LeaseRecord::of(spec);
        let held_for = Duration::from_secs(spec.lease_duration_seconds.unwrap_or(15).max(1) as u64);
        match seen.as_ref() {
            Some(o) if o.record == record => now.saturating_duration_since(o.at) >= held_for,
            _ => {
                *seen = Some(Observed { record, at: now });
                false
            }
        }
    }
}

pub(crate) struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
    fence: Fence,
    observed: Mutex<Option<Observed>>,
}

fn micro_now() -> MicroTime {
    MicroTime(Timestamp::now())
}

impl LeaderElector {
    pub(crate) fn new(client: Client, config: LeaseConfig) -> LeaderElector {
        LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            config,
            fence: Fence::leased(),
            observed: Mutex::new(None),
        }
    }

    pub(crate) fn identity(&self) -> &str {
        &self.config.identity
    }

    pub(crate) fn fence(&self) -> Fence {
        self.fence.clone()
    }

    fn new_lease(&self) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some(self.config.name.clone()),
                labels: Some(self.config.labels.clone()).filter(|l| !l.is_empty()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.config.identity.clone()),
                lease_duration_seconds: Some(self.config.duration.as_secs().max(1) as i32),
                acquire_time: Some(micro_now()),
                renew_time: Some(micro_now()),
                lease_transitions: Some(0),
                ..Default::default()
            }),
        }
    }

    /// Whether the lease, as read, has gone unchanged for its duration on our clock.
    fn expired(&self, spec: &LeaseSpec) -> bool {
        Observed::expired(&mut lock(&self.observed), spec, Instant::now())
    }

    /// Takes or renews the lease; Ok(true) when this process holds it afterwards.
    pub(crate) async fn try_acquire(&self) -> Result<bool, kube::Error> {
        let me = &self.config.identity;
        let Some(mut lease) = self.api.get_opt(&self.config.name).await? else {
            return match self.api.create(&PostParams::default(), &self.new_lease()).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let mine = holder.as_deref() == Some(me.as_str());
        if !mine && holder.is_some() && !self.expired(spec) {
            return Ok(false);
        }
        if !mine {
            spec.acquire_time = Some(micro_now());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.holder_identity = Some(me.clone());
        spec.lease_duration_seconds = Some(self.config.duration.as_secs().max(1) as i32);
        spec.renew_time = Some(micro_now());
        // replace carries the resourceVersion read above: of two contenders, only one update succeeds.
        match self.api.replace(&self.config.name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Keeps the fence open until `until` (a renewal that began before it succeeded).
    pub(crate) fn extend_fence(&self, until: Instant) {
        self.fence.extend(until);
    }

    /// One attempt within the renew deadline; extends the fence when it succeeds.
    async fn attempt(&self) -> Result<bool, String> {
        let started = Instant::now();
        match tokio::time::timeout(self.config.renew_deadline, self.try_acquire()).await {
            Ok(Ok(true)) => {
                self.fence.extend(started + self.config.renew_deadline);
                Ok(true)
            }
            Ok(Ok(false)) => Ok(false),
            Ok(Err(e)) => Err(crate::text::with_causes(&e)),
            Err(_) => Err(format!("no answer within {:?}", self.config.renew_deadline)),
        }
    }

    /// Waits until this process holds the lease.
    pub(crate) async fn acquire(&self) {
        loop {
            match self.attempt().await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "leader election: cannot read or write the lease")
                }
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// Renews until it cannot within the renew deadline, or another holder took the lease; then closes
    /// the fence and returns.
    pub(crate) async fn hold(&self) {
        let mut last_renewed = Instant::now();
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            match self.attempt().await {
                Ok(true) => last_renewed = Instant::now(),
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "leader election: renewal failed");
                    if last_renewed.elapsed() >= self.config.renew_deadline {
                        break;
                    }
                }
            }
            if self.fence.check().is_err() {
                break; // stalled past the deadline (a paused process): the lease may be someone else's
            }
        }
        self.fence.close();
    }

    /// Gives the lease up after all work has stopped, so a standby takes over at once.
    pub(crate) async fn release(&self) {
        self.fence.close();
        let release = async {
            if let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await
                && let Some(spec) = lease.spec.as_mut()
                && spec.holder_identity.as_deref() == Some(self.config.identity.as_str())
            {
                spec.holder_identity = None;
                spec.renew_time = None;
                let _ = self.api.replace(&self.config.name, &PostParams::default(), &lease).await;
            }
        };
        if tokio::time::timeout(self.config.renew_deadline, release).await.is_err() {
            tracing::warn!("leader election: could not release the lease in time; it expires by itself");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_timings_follow_client_gos_proportions() {
        let c = LeaseConfig::with_duration("ns".into(), "l".into(), "me".into(), Duration::from_secs(15));
        assert_eq!((c.renew_deadline, c.retry_period), (Duration::from_secs(10), Duration::from_secs(2)));
    }
}
