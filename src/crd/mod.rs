//! The `OktaIntegration` API (group `dti.dev`, version `v1alpha1`): spec, status and the CRD generated from them.

// kube's repeated `printcolumn(...)` arguments look like duplicated attributes to clippy; they are not.
#![allow(clippy::duplicated_attributes)]

pub mod duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, CustomResourceExt, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::discovery::report::{AppUsage, Summary};

pub use duration::{DurationError, parse_go_duration, parse_usage_window};

/// Annotation whose every new value asks for one sync now; the value is echoed in `status.lastHandledSyncRequest`.
pub const SYNC_REQUESTED_ANNOTATION: &str = "dti.dev/sync-requested-at";

/// Connects one Okta org to Digital Transformation Intelligence: the operator checks that the API token can
/// read users, applications and the System Log, then syncs on an interval and writes every app the org
/// signs in to through Okta, with its usage, into status.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "dti.dev",
    version = "v1alpha1",
    kind = "OktaIntegration",
    namespaced,
    status = "OktaIntegrationStatus",
    shortname = "okta",
    category = "dti",
    doc = "OktaIntegration connects an Okta org to Digital Transformation Intelligence: the operator validates the API token's read access and writes every SaaS app the org signs in to through Okta, with its usage, into status.",
    printcolumn(name = "Domain", type_ = "string", json_path = ".spec.domain"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Apps", type_ = "integer", json_path = ".status.summary.apps"),
    printcolumn(
        name = "Used",
        type_ = "integer",
        json_path = ".status.summary.usedApps"
    ),
    printcolumn(
        name = "Last Sync",
        type_ = "date",
        json_path = ".status.lastSync.completedAt"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        priority = 1,
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct OktaIntegrationSpec {
    /// The Okta domain, exactly as shown in the Okta Admin Console's global header: a host name with an
    /// optional port, such as acme.okta.com, acme.oktapreview.com, acme.okta-emea.com, or a custom domain
    /// such as login.acme.com. No scheme, path or query: write acme.okta.com, not https://acme.okta.com/.
    #[schemars(length(min = 1, max = 260))]
    #[x_kube(
        validation = Rule::new("!self.contains('://')").message("domain must be a host name without a scheme: write acme.okta.com, not https://acme.okta.com"),
        validation = Rule::new("!self.contains('/')").message("domain must be a host name without a path: remove everything from the first '/' (write acme.okta.com, not acme.okta.com/admin)"),
        validation = Rule::new("!self.contains('?') && !self.contains('#')").message("domain must be a host name without a query or fragment: remove everything from '?' or '#'"),
        validation = Rule::new("!self.matches('\\\\s')").message("domain must not contain whitespace"),
        validation = Rule::new("self.contains('/') || self.contains('?') || self.contains('#') || self.matches('\\\\s') || self.matches('^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:[0-9]{1,5})?$')").message("domain must be a DNS host name with an optional port, such as acme.okta.com or login.acme.com:8443")
    )]
    pub domain: String,

    /// How the operator authenticates to Okta. Set exactly one method.
    pub credentials: Credentials,

    /// How long to wait after a sync finishes before starting the next one, as a Go duration (for
    /// example 30m, 1h, 6h). At least 5m: Okta's rate limits make faster syncs of a large org impossible.
    #[serde(default = "default_sync_interval")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"), length(max = 32))]
    #[x_kube(validation = Rule::new("duration(self) >= duration('5m')").message("syncInterval must be at least 5m"))]
    pub sync_interval: String,

    /// Stops scheduling syncs while true; the last results stay in status. Access is still validated.
    #[serde(default)]
    pub suspend: bool,

    /// How far back usage is counted, in days (1d to 90d; Okta keeps the System Log for 90 days).
    /// Active users, sign-ins and used apps all refer to this window.
    #[serde(default = "default_usage_window")]
    #[schemars(regex(pattern = r"^[0-9]{1,3}d$"), length(max = 4))]
    #[x_kube(validation = Rule::new("!self.matches('^[0-9]{1,3}d$') || (int(self.substring(0, self.size() - 1)) >= 1 && int(self.substring(0, self.size() - 1)) <= 90)").message("usageWindow must be between 1d and 90d: Okta keeps the System Log for 90 days"))]
    pub usage_window: String,

    /// How many apps to list in status.apps, the most used first (0 to 500). The summary always counts
    /// every app; status.appsTruncated says when more apps exist than are listed.
    #[serde(default = "default_max_apps")]
    #[schemars(range(min = 0, max = 500))]
    pub max_apps_in_status: u32,
}

fn default_sync_interval() -> String {
    "1h".into()
}
fn default_usage_window() -> String {
    "30d".into()
}
fn default_max_apps() -> u32 {
    100
}

/// How the operator authenticates to Okta: exactly one method. Today: apiToken.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
#[x_kube(validation = Rule::new("has(self.apiToken)").message("credentials must set exactly one method: apiToken"))]
pub struct Credentials {
    /// An Okta API token (sent as `Authorization: SSWS <token>`), read from a Secret in this namespace.
    /// Create it as a read-only admin: it needs View users, View applications and View System Log.
    pub api_token: Option<ApiTokenCredentials>,
}

/// An Okta API token stored in a Secret.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiTokenCredentials {
    /// The Secret holding the token. It must be in the same namespace as this OktaIntegration.
    pub secret_ref: SecretKeyRef,
}

/// A key of a Secret in the same namespace (cross-namespace references are not allowed: they would let
/// anyone who can create an OktaIntegration read other namespaces' Secrets through the operator).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
    /// Key within the Secret's data that holds the token.
    #[serde(default = "default_secret_key")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

fn default_secret_key() -> String {
    "token".into()
}

/// What the operator observed: access, the last sync and the apps found.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OktaIntegrationStatus {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, AccessValidated, Synced, Reconciling and Stalled (kstatus conventions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// Whether the token holds each read permission the integration needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessStatus>,
    /// The most recent sync, successful or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<LastSync>,
    /// When the next sync is due (absent while suspended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_sync_at: Option<Time>,
    /// Org-wide totals from the last successful sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// The most used apps from the last successful sync (at most spec.maxAppsInStatus), most active users first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Atomic)]
    pub apps: Vec<AppUsage>,
    /// True when the org has more apps than status.apps lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apps_truncated: Option<bool>,
    /// The last value of the dti.dev/sync-requested-at annotation that the operator acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_sync_request: Option<String>,
}

/// The permissions the setup guide asks for, each Granted, Denied or Unknown (not checked yet).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AccessStatus {
    /// "View users": GET /api/v1/users.
    pub users: Permission,
    /// "View applications": GET /api/v1/apps.
    pub applications: Permission,
    /// "View System Log": GET /api/v1/logs.
    pub system_log: Permission,
}

/// Whether a permission was observed.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Permission {
    Granted,
    Denied,
    #[default]
    Unknown,
}

/// One sync run's bookkeeping.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LastSync {
    /// When the sync started.
    pub started_at: Time,
    /// When it ended (absent while it runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
    /// Wall time of the sync in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// Succeeded, Failed or InProgress.
    pub result: SyncResult,
    /// Okta API requests the sync issued, retries included.
    #[serde(default)]
    pub api_requests: u64,
    /// Seconds spent waiting for Okta's rate limits.
    #[serde(default)]
    pub rate_limit_wait_seconds: f64,
    /// Users read from the users list.
    #[serde(default)]
    pub users_scanned: u64,
    /// System Log events read.
    #[serde(default)]
    pub events_scanned: u64,
    /// A human-readable outcome; on failure, the cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Outcome of a sync.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncResult {
    Succeeded,
    Failed,
    InProgress,
}

/// The CRD, with unsigned integer formats spelled as the API server knows them (it warns on uint32/uint64).
pub fn crd() -> CustomResourceDefinition {
    let mut crd = OktaIntegration::crd();
    for version in &mut crd.spec.versions {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            normalize_integer_formats(schema);
        }
    }
    crd
}

fn normalize_integer_formats(schema: &mut JSONSchemaProps) {
    schema.format = match schema.format.take().as_deref() {
        Some("uint64") => Some("int64".into()),
        Some("uint32") | Some("uint16") | Some("uint8") => Some("int32".into()),
        other => other.map(str::to_string),
    };
    for child in schema.properties.iter_mut().flat_map(|p| p.values_mut()) {
        normalize_integer_formats(child);
    }
    if let Some(JSONSchemaPropsOrArray::Schema(items)) = schema.items.as_mut() {
        normalize_integer_formats(items);
    }
}

/// The CRD as YAML, exactly as committed in crds/oktaintegration.yaml.
pub fn crd_yaml() -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(&crd())
}
