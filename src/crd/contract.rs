//! `AppContract`: what the organization pays for one app of an integration (Okta has no prices: this
//! comes from the customer, kept in Git beside the OktaIntegration). The operator matches it to the app
//! and computes utilization and spend on seats nobody uses.

// kube's repeated `printcolumn(...)` arguments look like duplicated attributes to clippy; they are not.
#![allow(clippy::duplicated_attributes)]
// kube's KubeSchema derive re-emits each struct in a private scope, which unreachable_pub flags.
#![allow(unreachable_pub)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A contract for one app of an OktaIntegration in the same namespace.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "dti.dev",
    version = "v1alpha1",
    kind = "AppContract",
    namespaced,
    status = "AppContractStatus",
    shortname = "contract",
    category = "dti",
    doc = "AppContract records what the organization pays for one app of an OktaIntegration (seats, price, renewal); the operator matches it to the app and computes utilization and wasted spend.",
    printcolumn(name = "App", type_ = "string", json_path = ".status.app.label"),
    printcolumn(name = "Seats", type_ = "integer", json_path = ".spec.seats"),
    printcolumn(name = "Active", type_ = "integer", json_path = ".status.seats.active"),
    printcolumn(name = "Utilization", type_ = "string", json_path = ".status.utilization"),
    printcolumn(name = "Wasted", type_ = "string", json_path = ".status.wastedSpend.display"),
    printcolumn(name = "Renewal", type_ = "string", json_path = ".spec.renewal"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.app.id) != has(self.app.label)").message("app must set exactly one of id (Okta's app id) or label (the app's exact label)"))]
pub struct AppContractSpec {
    /// The OktaIntegration (same namespace) whose org holds the app.
    #[schemars(length(min = 1, max = 63))]
    pub integration: String,
    /// Which app: Okta's app id, or its exact label.
    pub app: AppRef,
    /// Seats contracted (licences paid for).
    #[schemars(range(min = 0, max = 10000000))]
    pub seats: u64,
    /// The price of one seat.
    pub price: Price,
    /// When the contract renews, as a date (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}$') && timestamp(self + 'T00:00:00Z') == timestamp(self + 'T00:00:00Z')").message("renewal must be a date written YYYY-MM-DD, such as 2027-03-31"))]
    pub renewal: Option<String>,
    /// Who owns the contract (a team or a person's role, shown in reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub owner: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2000))]
    pub notes: Option<String>,
}

/// Names an app of the integration.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppRef {
    /// Okta's app instance id (0oa…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100), regex(pattern = r"^[0-9A-Za-z]+$"))]
    pub id: Option<String>,
    /// The app's exact label, as users see it (must match one app only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub label: Option<String>,
}

/// A price per seat: a decimal written as a string (no floating point for money).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Price {
    /// The amount per seat, a decimal with at most 4 places, such as "12.50".
    #[schemars(length(min = 1, max = 20))]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]{1,12}(\\\\.[0-9]{1,4})?$')").message("price.amount must be a decimal such as \"12.50\" (digits, at most 4 after the point, no sign or exponent)"))]
    pub amount: String,
    /// ISO 4217 currency code, such as USD or EUR.
    #[x_kube(validation = Rule::new("self.matches('^[A-Z]{3}$')").message("price.currency must be an ISO 4217 code of three capital letters, such as USD"))]
    #[schemars(length(min = 3, max = 3))]
    pub currency: String,
    /// The period the amount is per: month or year.
    pub per: PricePeriod,
}

/// A price's period.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum PricePeriod {
    Month,
    Year,
}

impl PricePeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            PricePeriod::Month => "month",
            PricePeriod::Year => "year",
        }
    }
}

/// What the operator computed for the contract.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppContractStatus {
    /// Matched, and Ready (computed from a synced app).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The app the contract matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<MatchedApp>,
    /// Seats contracted, assigned, in active use and to reclaim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats: Option<ContractSeats>,
    /// Active users as a percentage of contracted seats, such as "62.5%".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<String>,
    /// What the contract costs per period (seats × price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Money>,
    /// Contracted seats not in active use × price, per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasted_spend: Option<Money>,
    /// Days until spec.renewal (negative once passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_in_days: Option<i64>,
    /// When the numbers were computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed_at: Option<Time>,
}

/// The app a contract matched.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MatchedApp {
    pub id: String,
    pub label: String,
    /// The OktaApp object holding it.
    pub oktaapp: String,
}

/// A contract's seats.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ContractSeats {
    pub contracted: u64,
    /// Seats held in Okta (assignments that hold a seat).
    pub assigned: u64,
    /// Distinct users with a counted sign-in in the usage window.
    pub active: u64,
    /// Seats to reclaim (the app's reclaim.seats).
    pub reclaimable: u64,
}

/// An amount of money per period, as an exact decimal string.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// The amount, such as "1250.00".
    pub amount: String,
    pub currency: String,
    /// month or year.
    pub per: String,
    /// For people and printer columns, such as "1250.00 USD/month".
    pub display: String,
}

/// What an OktaApp shows of the contract that matched it.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ContractRef {
    /// The AppContract's name (same namespace).
    pub name: String,
    pub seats: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal: Option<String>,
}
