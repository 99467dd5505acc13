//! What a sync keeps for the next one: the System Log cursor, the directory, every app with its
//! assignments and groups, and the usage ledger. A kept state is only valid for the same org, window,
//! sign-in event types and inventory rule ([`StateKey`]); anything else starts from scratch.

use std::collections::{BTreeMap, HashSet};

use url::Url;

use super::assignments::Assignments;
use super::directory::Directory;
use super::exemptions::Exemptions;
use super::history::History;
use super::inventory::AppRecord;
use super::usage::UsageLedger;

/// What a state was built for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StateKey {
    pub(crate) origin: String,
    pub(crate) window_days: u32,
    pub(crate) event_types: Vec<String>,
    pub(crate) include_okta_apps: bool,
    /// Whether history is kept: turning it on needs a read from scratch (the backfill).
    pub(crate) history: bool,
}

impl StateKey {
    /// Whether history counted under `self` means the same under `other`: the same org, sign-in event
    /// types and inventory rule (the usage window does not change what a month's sign-ins are).
    pub(crate) fn same_history(&self, other: &StateKey) -> bool {
        self.origin == other.origin
            && self.event_types == other.event_types
            && self.include_okta_apps == other.include_okta_apps
    }
}

/// One app and what the sync knows of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AppEntry {
    pub(crate) record: AppRecord,
    /// None until its users are listed (apps left out of the inventory are never listed).
    pub(crate) assignments: Option<Assignments>,
    /// Groups assigned to the app.
    pub(crate) groups: Vec<String>,
    /// When its users were last listed (ms): a change event older than that is already in the listing.
    pub(crate) listed_ms: i64,
    /// When the sync first found the app (ms).
    pub(crate) first_seen_ms: i64,
}

/// The incremental state of one org's syncs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OrgState {
    pub(crate) key: StateKey,
    /// Where the next System Log read resumes: the next link of the last page read.
    pub(crate) cursor: Option<Url>,
    pub(crate) directory: Directory,
    pub(crate) apps: BTreeMap<String, AppEntry>,
    pub(crate) usage: UsageLedger,
    /// Months and weeks of usage: kept across a change of the usage window (see [`StateKey::same_history`]).
    pub(crate) history: History,
    /// When every app's users (and the app list) were last listed in full (ms).
    pub(crate) assignments_listed_ms: Option<i64>,
    /// When the users were last listed in full (ms).
    pub(crate) users_listed_ms: Option<i64>,
    /// Where the System Log read behind this state began (ms): sign-ins since then are known.
    pub(crate) observed_since_ms: Option<i64>,
    /// Members of the exempt groups (not in the checkpoint: listed again after a restart).
    pub(crate) exemptions: Exemptions,
}

/// What a checkpoint must not lag behind once a sync changed it: a closed month or week (its seats are
/// those at the close, which a later read could not reproduce) and the full listings (reading them again
/// costs minutes of an org's rate limit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Landmarks {
    closed: BTreeMap<crate::discovery::Span, i32>,
    assignments_listed_ms: Option<i64>,
    users_listed_ms: Option<i64>,
    observed_since_ms: Option<i64>,
}

impl OrgState {
    pub(crate) fn new(key: StateKey) -> OrgState {
        OrgState { key, ..OrgState::default() }
    }

    pub(crate) fn landmarks(&self) -> Landmarks {
        Landmarks {
            closed: self.history.closed_through.clone(),
            assignments_listed_ms: self.assignments_listed_ms,
            users_listed_ms: self.users_listed_ms,
            observed_since_ms: self.observed_since_ms,
        }
    }

    /// Heap bytes the state holds, approximately: what the operator's state cache counts against its cap.
    pub(crate) fn approx_bytes(&self) -> usize {
        let apps: usize = self
            .apps
            .iter()
            .map(|(id, a)| {
                let record = a.record.id.len() + a.record.name.len() + a.record.label.len() + 160;
                let groups: usize = a.groups.iter().map(|g| g.len() + 24).sum();
                id.len() + record + groups + a.assignments.as_ref().map_or(0, Assignments::heap_bytes)
            })
            .sum();
        let history: usize =
            self.history.apps.values().map(|h| 96 + h.series.closed.len() * 48 + h.series.open.len() * 64).sum();
        let exempt: usize =
            self.exemptions.groups.values().map(|g| g.members.iter().map(|m| m.len() + 24).sum::<usize>()).sum();
        std::mem::size_of::<OrgState>()
            + self.directory.heap_bytes()
            + apps
            + self.usage.heap_bytes()
            + history
            + exempt
    }

    /// Whether the inventory holds this app (Okta's own apps and service clients only when asked for).
    pub(crate) fn in_inventory(&self, app: &str) -> bool {
        self.apps.get(app).is_some_and(|a| self.key.include_okta_apps || !a.record.kind.built_in())
    }

    /// The inventory's apps.
    pub(crate) fn inventory(&self) -> impl Iterator<Item = &AppEntry> {
        self.apps.values().filter(|a| self.key.include_okta_apps || !a.record.kind.built_in())
    }

    /// Drops users nothing refers to any more, and renumbers the rest everywhere.
    pub(crate) fn compact(&mut self) {
        let mut referenced: HashSet<u32> = self.usage.users();
        for entry in self.apps.values() {
            if let Some(a) = &entry.assignments {
                referenced.extend(a.users());
            }
        }
        let remap = self.directory.compact(|u| referenced.contains(&u));
        if remap.iter().all(|r| r.is_some()) {
            return;
        }
        self.usage.remap(&remap);
        for entry in self.apps.values_mut() {
            if let Some(a) = entry.assignments.as_mut() {
                a.remap(&remap);
            }
        }
    }
}
