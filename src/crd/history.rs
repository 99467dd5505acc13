//! Usage history as status shows it (OktaApp `status.history`, OktaIntegration `status.summary.history`):
//! calendar months and ISO weeks (UTC), newest first, the same shape as the JSON report's `history`.

// kube's KubeSchema derive re-emits each struct in a private scope, which unreachable_pub flags.
#![allow(unreachable_pub)]

use std::collections::BTreeMap;

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Months and weeks of usage, newest first (spec.history says how many).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageHistory {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 25))]
    pub months: Vec<MonthUsage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 104))]
    pub weeks: Vec<WeekUsage>,
}

impl UsageHistory {
    pub fn is_empty(&self) -> bool {
        self.months.is_empty() && self.weeks.is_empty()
    }
}

/// One calendar month (UTC).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MonthUsage {
    /// The month, e.g. 2026-11.
    #[schemars(length(max = 7))]
    pub month: String,
    /// Distinct users with a counted sign-in in the month.
    pub active_users: u64,
    /// Counted sign-ins in the month.
    pub sign_ins: u64,
    /// Seats held when the month ended; absent when no sync saw them within a day of its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats: Option<u64>,
    /// The month began before the earliest System Log event read: it misses what came before.
    #[serde(default)]
    pub partial: bool,
    /// Not closed yet (the current month, or one that ended less than an hour ago).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_progress: bool,
    /// Active users per value of each spec.breakdown attribute (the value each user had when the month
    /// closed), most first: the top values and one `other` row for the rest. Absent for months closed
    /// before the attribute was configured.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub breakdown: BTreeMap<String, Vec<MonthValue>>,
}

/// One attribute value's active users in a month.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MonthValue {
    /// The value as Okta holds it, cleaned ("" for users without it).
    #[schemars(length(max = 256))]
    pub value: String,
    /// True for the row summing the values past the top ones (its value says how many).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub other: bool,
    /// Distinct users with this value and a counted sign-in in the month.
    pub active_users: u64,
}

/// One ISO week (Monday to Sunday, UTC).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WeekUsage {
    /// The ISO week, e.g. 2026-W48.
    #[schemars(length(max = 8))]
    pub week: String,
    pub active_users: u64,
    pub sign_ins: u64,
    #[serde(default)]
    pub partial: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_progress: bool,
}
