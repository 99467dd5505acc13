//! Who the exempt groups hold (spec.reclaim.exemptGroups), as last listed: a leaf the state keeps and the
//! reclaim rules read.

use std::collections::{BTreeMap, HashSet};

/// Members of the exempt groups as last listed, by group id (user ids, not indices: they outlive the
/// directory's compaction). Kept in memory only; a restarted sync lists them again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Exemptions {
    pub(crate) groups: BTreeMap<String, ExemptGroup>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ExemptGroup {
    pub(crate) members: HashSet<Box<str>>,
    pub(crate) listed_ms: i64,
    /// Okta answered 404: no such group (a typo, or deleted).
    pub(crate) missing: bool,
}

impl Exemptions {
    pub(crate) fn exempt(&self, user_id: &str) -> bool {
        self.groups.values().any(|g| g.members.contains(user_id))
    }

    /// Configured groups Okta does not know.
    pub(crate) fn missing(&self) -> Vec<String> {
        self.groups.iter().filter(|(_, g)| g.missing).map(|(id, _)| id.clone()).collect()
    }
}
