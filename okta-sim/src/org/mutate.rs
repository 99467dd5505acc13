//! Changes to the org at run time (control endpoints, churn): apps added, direct assignments set, group
//! rows recomputed.

use chrono::{DateTime, Utc};

use super::*;
use crate::rng::okta_id;

impl Org {
    /// Adds an app at run time; returns its index.
    pub fn add_app(&mut self, label: &str, mode: SignOnMode, created: DateTime<Utc>) -> usize {
        let a = self.apps.len();
        let name = mode.template_name().map(str::to_string).unwrap_or_else(|| format!("acme_added_{a}"));
        self.apps.push(App {
            id: okta_id("0oa", self.seed ^ 0xadd, TAG_APP, a as u64),
            name,
            label: label.to_string(),
            active: true,
            deleted: false,
            deleted_at: None,
            sign_on_mode: mode,
            kind: AppKind::Saas,
            style: style_of(mode, label),
            created,
            groups: Vec::new(),
            application_type: (mode == SignOnMode::OpenIdConnect).then_some("web"),
        });
        self.assignments.push(Vec::new());
        self.pools.push(Vec::new());
        self.reindex();
        a
    }

    /// Sets (or clears, with None) a direct assignment made at `at`; returns whether anything changed.
    pub fn set_direct(&mut self, app: usize, user: u32, status: Option<AppUserStatus>, at: DateTime<Utc>) -> bool {
        let in_groups = self.in_app_groups(app, user);
        let rows = &mut self.assignments[app];
        match (rows.binary_search_by_key(&user, |r| r.user), status) {
            (Ok(i), Some(s)) => {
                let changed = !rows[i].direct || rows[i].status != s;
                rows[i].direct = true;
                rows[i].status = s;
                changed
            }
            (Ok(i), None) if in_groups => {
                let changed = rows[i].direct;
                rows[i].direct = false;
                changed
            }
            (Ok(i), None) => {
                rows.remove(i);
                true
            }
            (Err(i), Some(s)) => {
                rows.insert(i, Assignment { user, direct: true, status: s, assigned: at });
                true
            }
            (Err(_), None) => false,
        }
    }

    fn in_app_groups(&self, app: usize, user: u32) -> bool {
        self.apps[app].groups.iter().any(|&g| self.groups[g as usize].members.binary_search(&user).is_ok())
    }

    /// Recomputes the GROUP rows of `user` in `app` after a group or membership change at `at`.
    pub fn refresh_group_row(&mut self, app: usize, user: u32, at: DateTime<Utc>) {
        let in_groups = self.in_app_groups(app, user);
        let rows = &mut self.assignments[app];
        match rows.binary_search_by_key(&user, |r| r.user) {
            Ok(i) if !in_groups && !rows[i].direct => {
                rows.remove(i);
            }
            Err(i) if in_groups => {
                rows.insert(i, Assignment { user, direct: false, status: AppUserStatus::Active, assigned: at })
            }
            _ => {}
        }
    }
}
