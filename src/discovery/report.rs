//! The discovery report: the JSON contract of `dti-operator sync --format json`, and the `summary`/`apps`
//! shapes of an OktaIntegration's status (the CRD reuses these types, so both fronts mean the same thing).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One discovery run's result for one Okta org.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The Okta domain that was read, as configured (host[:port]).
    pub domain: String,
    /// When the report was produced (RFC 3339).
    pub generated_at: DateTime<Utc>,
    /// The usage window, e.g. `30d`: usage counts only System Log events published within it.
    pub usage_window: String,
    pub summary: Summary,
    /// Every app in the org, sorted by activeUsers (most first), then label.
    pub apps: Vec<AppUsage>,
}

/// Org-wide totals over the usage window.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Users the Okta users list returns: every user except DEPROVISIONED ones.
    pub users: u64,
    /// Distinct users with at least one successful SSO sign-in (user.authentication.sso, outcome SUCCESS) to any app in the window.
    pub active_users: u64,
    /// All app instances in the org, whatever their status.
    pub apps: u64,
    /// Apps whose status is ACTIVE.
    pub active_apps: u64,
    /// Apps with at least one successful SSO sign-in in the window.
    pub used_apps: u64,
    /// ACTIVE apps with no successful SSO sign-in in the window: candidates for reclaiming licences.
    pub unused_apps: u64,
    /// Successful SSO sign-ins in the window, summed over all apps.
    pub sso_events: u64,
}

/// One app instance and its usage over the window.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AppUsage {
    /// Okta's app instance id (e.g. 0oa1b2c3d4).
    pub id: String,
    /// Okta's app integration name (e.g. salesforce, or oidc_client for custom apps).
    pub name: String,
    /// The app's display label, as users see it on their dashboard.
    pub label: String,
    /// ACTIVE or INACTIVE.
    pub status: String,
    /// How users sign in: SAML_2_0, OPENID_CONNECT, AUTO_LOGIN, BOOKMARK, ...
    pub sign_on_mode: String,
    /// Users assigned to the app, directly or through a group.
    pub assigned_users: u64,
    /// Distinct users with a successful SSO sign-in to this app in the window.
    pub active_users: u64,
    /// Successful SSO sign-ins to this app in the window.
    pub sso_events: u64,
    /// The newest successful SSO sign-in seen; null if none.
    pub last_used: Option<DateTime<Utc>>,
}

impl Report {
    /// Sorts apps as the contract says: most active users first, then by label, then id for a stable order.
    pub fn sort_apps(apps: &mut [AppUsage]) {
        apps.sort_by(|a, b| {
            b.active_users
                .cmp(&a.active_users)
                .then_with(|| a.label.cmp(&b.label))
                .then_with(|| a.id.cmp(&b.id))
        });
    }
}
