//! Seats to reclaim as status shows them (OktaApp, OktaIntegration summary and apps).

// kube's KubeSchema derive re-emits each struct in a private scope, which unreachable_pub flags.
#![allow(unreachable_pub)]

use chrono::{DateTime, Utc};
use kube::KubeSchema;
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
