//! Breakdowns by profile attribute as the spec asks for them and as status shows them.

// kube's KubeSchema derive re-emits each struct in a private scope, which unreachable_pub flags.
#![allow(unreachable_pub)]

use std::collections::BTreeMap;

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Which profile attributes to break usage down by.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BreakdownSpec {
    /// Up to 3 Okta user profile attribute names, base (department, costCenter, division,
    /// organization, title, userType) or custom, e.g. [department, costCenter]. The values come with the
    /// users listing the operator makes anyway, and follow profile updates in the System Log.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 3), inner(regex(pattern = r"^[A-Za-z][A-Za-z0-9_]{0,49}$")))]
    #[x_kube(validation = Rule::new("self.all(a, self.exists_one(b, b == a))").message("breakdown.attributes must not repeat a name"))]
    pub attributes: Vec<String>,
}

/// One attribute value's usage.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AttributeValue {
    /// The value as Okta holds it, cleaned ("" for users without it).
    #[schemars(length(max = 256))]
    pub value: String,
    /// True for the row summing the values past the top 20 (its value says how many).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub other: bool,
    /// Seat holders with this value.
    pub seats: u64,
    /// Distinct users with this value and a counted sign-in in the usage window.
    pub active_users: u64,
    /// Seat holders with this value and no counted sign-in in the window.
    pub unused_seats: u64,
}

/// Per attribute, its top 20 values by seats and one `other` row for the rest.
pub type UsageBreakdown = BTreeMap<String, Vec<AttributeValue>>;
