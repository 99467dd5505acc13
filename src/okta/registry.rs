//! Governors by org origin (scheme, host and port): integrations on the same org share one budget, orgs
//! on one host but different ports (or schemes) do not, and an org idle for an hour is forgotten.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::domain::OrgUrl;
use super::governor::{Bucket, OrgGovernor};
use crate::sync::lock;

/// An org unused this long (and held by no client) leaves the registry.
const IDLE: Duration = Duration::from_secs(3600);

#[derive(Default)]
pub(crate) struct GovernorRegistry {
    orgs: Mutex<HashMap<String, Arc<OrgGovernor>>>,
}

impl GovernorRegistry {
    pub(crate) fn for_org(&self, org: &OrgUrl, max_in_flight: usize) -> Arc<OrgGovernor> {
        let mut orgs = lock(&self.orgs);
        orgs.retain(|_, g| Arc::strong_count(g) > 1 || g.idle_for() < IDLE);
        orgs.entry(org.origin()).or_insert_with(|| Arc::new(OrgGovernor::new(max_in_flight))).clone()
    }

    /// Every org's bucket budgets: (origin, bucket, limit, remaining).
    pub(crate) fn budgets(&self) -> Vec<(String, Bucket, u64, u64)> {
        let orgs = lock(&self.orgs);
        let mut out: Vec<(String, Bucket, u64, u64)> = orgs
            .iter()
            .flat_map(|(origin, g)| {
                g.budgets().into_iter().map(move |(b, limit, left)| (origin.clone(), b, limit, left))
            })
            .collect();
        out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        out
    }
}
