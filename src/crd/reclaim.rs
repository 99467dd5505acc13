//! Seats to reclaim as status shows them (OktaApp, OktaIntegration summary and apps).

// kube's KubeSchema derive re-emits each struct in a private scope, which unreachable_pub flags.
#![allow(unreachable_pub)]

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Seats to reclaim, each under one reason (first that applies: leavers, neverUsed, inactive), and the
/// same seats split by grant.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReclaimSeats {
    /// inactive + neverUsed + leavers (= direct + group).
    pub seats: u64,
    /// Seat holders whose last sign-in to the app is older than spec.reclaim.inactiveAfter.
    pub inactive: u64,
    /// Seat holders with no sign-in to the app ever observed, assigned longer ago than inactiveAfter.
    pub never_used: u64,
    /// Seats held by users whose Okta status is SUSPENDED or DEPROVISIONED.
    pub leavers: u64,
    /// Of these seats, those assigned directly (scope USER): reclaimable one user at a time.
    pub direct: u64,
    /// Of these seats, those granted through a group (scope GROUP): they leave with the membership.
    pub group: u64,
}

/// What the seats to reclaim were judged by.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReclaimBasis {
    /// spec.reclaim.inactiveAfter as applied, e.g. 60d.
    #[schemars(length(max = 8))]
    pub inactive_after: String,
    /// Sign-ins are known from here on: "never used" means none since then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_since: Option<DateTime<Utc>>,
    /// Exempt groups configured.
    #[serde(default)]
    pub exempt_groups: u64,
    /// Exempt groups Okta does not know (404): check their ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub unknown_exempt_groups: Vec<String>,
}

/// The key of the per-user list's Secret holding the gzip'd CSV (the operator writes it, `kubectl dti
/// reclaim` reads it).
pub const USER_LIST_KEY: &str = "reclaim.csv.gz";

/// Opt-in: the per-user list of seats (personal data: Okta user ids and logins) in a Secret.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserListSpec {
    /// The Secret, in this namespace, that the operator writes after each successful sync (key
    /// reclaim.csv.gz: the CSV of `dti-operator sync --per-user`, gzip'd), owned by this integration so
    /// it goes with it. Whoever may read Secrets here may read it, as they may read the credentials. A
    /// Secret of this name that the integration does not own is never overwritten.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub secret_name: String,
    /// Reclaimable (default): only seats to reclaim; All: every assignment of every app.
    #[serde(default)]
    pub rows: UserListRows,
    /// At most this many rows (1 to 100000, default 20000); the list is also kept under 900 KiB
    /// compressed (a Secret holds at most 1 MiB). Past either, it is truncated and status says so.
    #[serde(default = "default_max_rows")]
    #[schemars(range(min = 1, max = 100_000))]
    pub max_rows: u32,
}

fn default_max_rows() -> u32 {
    20_000
}

/// Which assignments the per-user list holds.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserListRows {
    #[default]
    Reclaimable,
    All,
}

/// The per-user list the operator last wrote.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserListStatus {
    /// The Secret holding it (key reclaim.csv.gz); `kubectl dti reclaim NAME` prints it.
    pub secret_name: String,
    /// Rows it holds.
    pub rows: u64,
    /// Rows there were: more than rows when it was truncated.
    pub total_rows: u64,
    /// True when rows were left out (spec.reclaim.userList.maxRows, or 900 KiB compressed).
    pub truncated: bool,
    /// Compressed size in bytes.
    pub bytes: u64,
    /// When its content last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Time>,
}
