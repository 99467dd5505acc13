//! The exempt groups' members (spec.reclaim.exemptGroups): listed in every full sync, again after a
//! membership change of the group (`group.user_membership.add`/`remove` in Okta's event catalogue), and
//! when not yet known (state restored from a checkpoint does not hold them).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde::Deserialize;

use super::clock::Clock;
use super::exemptions::ExemptGroup;
use super::failure::SyncError;
use super::fetch::{GROUP_USERS_PAGE, LISTING_MARGIN_MS, Reader};
use super::need::Need;
use super::records::{Record, required};
use super::state::OrgState;
use crate::okta::OktaError;
use crate::sync::lock;

/// A group member as listGroupUsers returns it: only the id matters here.
#[derive(Deserialize)]
pub(crate) struct RawMember {
    id: Option<String>,
}

impl Record for RawMember {
    type Checked = String;
    fn check(self) -> Result<String, &'static str> {
        let id = required(&self.id, "a group member without an id")?;
        if !super::directory::valid_user_id(id) {
            return Err("a user id that is not an Okta id");
        }
        Ok(id.to_string())
    }
}

/// Lists the configured `groups` that need it (all in a `full` sync; otherwise those not known yet and
/// those a membership change `changed` since they were listed), and drops groups no longer configured.
pub(crate) async fn refresh(
    reader: &Reader<'_>,
    clock: &Clock,
    state: &Mutex<&mut OrgState>,
    (groups, full, changed): (&[String], bool, &HashMap<String, i64>),
) -> Result<(), SyncError> {
    let due: Vec<&String> = {
        let mut st = lock(state);
        st.exemptions.groups.retain(|id, _| groups.contains(id));
        let known = &st.exemptions.groups;
        let due = |g: &String| match known.get(g) {
            None => true,
            Some(k) => full || changed.get(g).is_some_and(|&at| at >= k.listed_ms - LISTING_MARGIN_MS),
        };
        groups.iter().filter(|g| due(g)).collect()
    };
    for id in due {
        let listed_ms = clock.now().timestamp_millis();
        let group = list_members(reader, id).await?;
        lock(state).exemptions.groups.insert(id.clone(), ExemptGroup { listed_ms, ..group });
    }
    Ok(())
}

async fn list_members(reader: &Reader<'_>, id: &str) -> Result<ExemptGroup, SyncError> {
    let path = format!("/api/v1/groups/{}/users?limit={GROUP_USERS_PAGE}", urlencoding(id));
    let first = reader.client.url(&path);
    let mut members: HashSet<Box<str>> = HashSet::new();
    let listed = reader
        .list::<RawMember>(Need::Groups, first, |page| members.extend(page.into_iter().map(String::into_boxed_str)))
        .await;
    match listed {
        Ok(_) => Ok(ExemptGroup { members, listed_ms: 0, missing: false }),
        // No such group: a typo or a deleted group; its absence is reported, nothing is exempt by it.
        Err(SyncError::Okta(OktaError::Api { status: 404, .. })) => {
            Ok(ExemptGroup { missing: true, ..Default::default() })
        }
        Err(e) => Err(e),
    }
}

/// A group id as a path segment (ids are validated as Okta ids by the CRD; this keeps any other safe).
fn urlencoding(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}
