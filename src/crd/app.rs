//! `OktaApp`: one app of an integration's inventory, with its usage. Written by the operator only; owned
//! by its OktaIntegration, so deleting the integration garbage-collects its apps.

// kube's repeated `printcolumn(...)` arguments look like duplicated attributes to clippy; they are not.
#![allow(clippy::duplicated_attributes)]
// kube's KubeSchema derive re-emits each struct in a private scope, which unreachable_pub flags.
#![allow(unreachable_pub)]

use super::breakdown::UsageBreakdown;
use super::contract::ContractRef;
use super::history::UsageHistory;
use super::reclaim::ReclaimSeats;
use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// Label naming the OktaIntegration an OktaApp belongs to.
pub const INTEGRATION_LABEL: &str = "dti.dev/integration";
/// Label saying whether anyone signed in to the app in the usage window ("true" or "false").
pub const USED_LABEL: &str = "dti.dev/used";

/// An app found in an Okta org, as the operator last observed it.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "dti.dev",
    version = "v1alpha1",
    kind = "OktaApp",
    namespaced,
    status = "OktaAppStatus",
    shortname = "oktaapp",
    category = "dti",
    doc = "OktaApp is one app of an OktaIntegration's inventory (written by the operator): its assignments, seats and sign-ins over the integration's usage window.",
    printcolumn(name = "App", type_ = "string", json_path = ".status.label"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.status"),
    printcolumn(name = "Assigned", type_ = "integer", json_path = ".status.assignedUsers"),
    printcolumn(name = "Active", type_ = "integer", json_path = ".status.activeUsers"),
    printcolumn(name = "Unused Seats", type_ = "integer", json_path = ".status.unusedSeats"),
    printcolumn(name = "Reclaim", type_ = "integer", json_path = ".status.reclaim.seats"),
    printcolumn(name = "Last Used", type_ = "date", json_path = ".status.lastUsed"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct OktaAppSpec {
    /// The OktaIntegration (same namespace) whose org holds this app.
    #[schemars(length(min = 1, max = 253))]
    pub integration: String,
    /// Okta's app instance id (e.g. 0oa1b2c3d4e5f6g7h8i9).
    #[schemars(length(min = 1, max = 100))]
    pub app_id: String,
}

/// What the last successful sync observed of the app.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OktaAppStatus {
    /// The app's display label, as users see it on their dashboard.
    pub label: String,
    /// Okta's app integration name (e.g. salesforce, or oidc_client for custom apps).
    pub name: String,
    /// ACTIVE or INACTIVE.
    pub status: String,
    /// How users sign in: SAML_2_0, OPENID_CONNECT, AUTO_LOGIN, BOOKMARK, ...
    pub sign_on_mode: String,
    /// True for Okta's own apps and OAuth service clients (present only with spec.includeOktaApps).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub built_in: bool,
    /// Seats held: assignments, direct or through a group, whose app-user status holds a seat.
    pub assigned_users: u64,
    /// Distinct users with a counted sign-in to the app in the usage window.
    pub active_users: u64,
    /// Seat holders with no counted sign-in to the app in the usage window: licences to reclaim.
    pub unused_seats: u64,
    /// Counted sign-ins to the app in the usage window.
    pub sso_events: u64,
    /// The newest counted sign-in in the usage window (millisecond precision); absent if none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<DateTime<Utc>>,
    /// When the operator first found the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<Time>,
    /// The usage window these numbers cover, e.g. 30d.
    pub usage_window: String,
    /// Sign-ins per UTC day over the window, oldest first, ending with the day of the last sync.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Atomic)]
    pub daily_sign_ins: Vec<u64>,
    /// Active users, sign-ins and seats per calendar month and ISO week, newest first (spec.history of
    /// the integration); kept beyond the System Log's 90 days.
    #[serde(default, skip_serializing_if = "UsageHistory::is_empty")]
    pub history: UsageHistory,
    /// Seats to reclaim, by reason and by grant (spec.reclaim of the integration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim: Option<ReclaimSeats>,
    /// Seats, active users and unused seats per value of each spec.breakdown attribute of the
    /// integration: the top 20 values by seats and one `other` row for the rest.
    #[serde(default, skip_serializing_if = "UsageBreakdown::is_empty")]
    pub breakdown: UsageBreakdown,
    /// The AppContract that matched this app (written by the contract controller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<ContractRef>,
}
