//! `OktaIntegration`: one Okta org connected to Digital Transformation Intelligence.

// kube's repeated `printcolumn(...)` arguments look like duplicated attributes to clippy; they are not.
#![allow(clippy::duplicated_attributes)]
// kube's KubeSchema derive re-emits each struct in a private scope, which unreachable_pub flags.
#![allow(unreachable_pub)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::breakdown::{BreakdownSpec, UsageBreakdown};
use super::history::UsageHistory;
use super::reclaim::{ReclaimBasis, ReclaimSeats, UserListSpec, UserListStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Okta's event types that count as a sign-in by default: SSO to an app (SAML, SWA, bookmark and the other
/// template apps), RADIUS apps such as VPNs, OIDC sign-ins, and Office 365 rich clients. Sources: Okta's
/// event-type catalogue (okta-developer-docs data/event-types.json, release 2026.08.1).
pub const DEFAULT_SIGN_IN_EVENT_TYPES: [&str; 4] = [
    "user.authentication.sso",
    "user.authentication.auth_via_radius",
    "app.oauth2.signon",
    "user.authentication.auth_via_richclient",
];

/// The read-only scopes an API service app needs (developer.okta.com: implement OAuth for Okta, scopes).
pub const DEFAULT_OAUTH_SCOPES: [&str; 3] = ["okta.users.read", "okta.apps.read", "okta.logs.read"];

/// Connects one Okta org to Digital Transformation Intelligence: the operator checks that its credentials
/// can read users, applications and the System Log, then syncs on an interval and writes every app the
/// org signs in to through Okta, with its usage, into status and into one OktaApp per app.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "dti.dev",
    version = "v1alpha1",
    kind = "OktaIntegration",
    namespaced,
    status = "OktaIntegrationStatus",
    shortname = "okta",
    category = "dti",
    doc = "OktaIntegration connects an Okta org to Digital Transformation Intelligence: the operator validates its read access and writes every SaaS app the org signs in to through Okta, with its usage, into status and into OktaApp objects.",
    printcolumn(name = "Domain", type_ = "string", json_path = ".spec.domain"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Apps", type_ = "integer", json_path = ".status.summary.apps"),
    printcolumn(name = "Used", type_ = "integer", json_path = ".status.summary.usedApps"),
    printcolumn(name = "Unused Seats", type_ = "integer", json_path = ".status.summary.unusedSeats"),
    printcolumn(name = "Reclaim", type_ = "integer", json_path = ".status.summary.reclaim.seats"),
    printcolumn(name = "Last Sync", type_ = "date", json_path = ".status.summary.lastSuccessfulSyncTime"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(
        name = "Status",
        type_ = "string",
        priority = 1,
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    ),
    printcolumn(name = "Shard", type_ = "string", priority = 1, json_path = ".status.shard")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.reclaim) || !has(self.reclaim.userList) || ((!has(self.credentials.apiToken) || self.credentials.apiToken.secretRef.name != self.reclaim.userList.secretName) && (!has(self.credentials.oauth) || self.credentials.oauth.privateKey.secretRef.name != self.reclaim.userList.secretName))").message("reclaim.userList.secretName must name a Secret of its own, not the credentials' Secret"))]
#[x_kube(validation = Rule::new("!has(self.reclaim) || !has(self.reclaim.inactiveAfter) || !self.reclaim.inactiveAfter.matches('^[0-9]{1,3}d$') || int(self.reclaim.inactiveAfter.substring(0, self.reclaim.inactiveAfter.size() - 1)) <= 90 || !has(self.history) || !has(self.history.months) || self.history.months > 0").message("reclaim.inactiveAfter beyond 90d needs history.months above 0: Okta's System Log holds 90 days, so older sign-ins are known only once the operator keeps them"))]
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

    /// How the operator authenticates to Okta: an API token, or (least privilege) an OAuth 2.0 API
    /// service app. Set exactly one method.
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
    /// Active users, sign-ins, unused seats and used apps all refer to this window.
    #[serde(default = "default_usage_window")]
    #[schemars(regex(pattern = r"^[0-9]{1,3}d$"), length(max = 4))]
    #[x_kube(validation = Rule::new("!self.matches('^[0-9]{1,3}d$') || (int(self.substring(0, self.size() - 1)) >= 1 && int(self.substring(0, self.size() - 1)) <= 90)").message("usageWindow must be between 1d and 90d: Okta keeps the System Log for 90 days"))]
    pub usage_window: String,

    /// How many apps status lists in apps (most active users first) and in unusedApps (most unused seats
    /// first), 0 to 100. Every app has its own OktaApp object and the summary counts every app.
    #[serde(default = "default_max_apps")]
    #[schemars(range(min = 0, max = 100))]
    pub max_apps_in_status: u32,

    /// Also list Okta's own apps (Okta Dashboard, Admin Console, Browser Plugin, Workflows, ...) and OAuth
    /// service clients, marked builtIn. By default they are left out of the inventory and of every count
    /// and only counted in summary.excludedApps: users open them through Okta itself, so they say nothing
    /// about the organization's SaaS apps.
    #[serde(default)]
    pub include_okta_apps: bool,

    /// Which System Log events count as a sign-in.
    #[serde(default)]
    pub usage: UsageSpec,

    /// Write one OktaApp object per app of the inventory (default true). With false, status keeps its
    /// short lists and the summary, and existing OktaApps of this integration are deleted.
    #[serde(default = "default_true")]
    pub app_resources: bool,

    /// How often the operator lists every app's assignments and every user again in full, as a Go
    /// duration (default 24h, at least 1h). Between full listings it follows assignment, group and user
    /// changes from the System Log and re-lists only the apps they touch; the full listing is the safety net.
    #[serde(default = "default_refresh_interval")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"), length(max = 32))]
    #[x_kube(validation = Rule::new("duration(self) >= duration('1h')").message("assignmentsRefreshInterval must be at least 1h"))]
    pub assignments_refresh_interval: String,

    /// Usage history kept beyond the System Log's 90 days: active users and sign-ins per calendar month
    /// and ISO week (UTC), per app and for the org.
    #[serde(default)]
    pub history: HistorySpec,

    /// Which seats count as ones to reclaim: idle longer than inactiveAfter, never used, or held by
    /// leavers; members of exempt groups never count.
    #[serde(default)]
    pub reclaim: ReclaimSpec,

    /// Who uses what: seats and active users per value of up to 3 user profile attributes
    /// (department, costCenter, ...), for each app and the org.
    #[serde(default, skip_serializing_if = "is_default_breakdown")]
    pub breakdown: BreakdownSpec,
}

fn is_default_breakdown(b: &BreakdownSpec) -> bool {
    b.attributes.is_empty()
}

/// The rules for seats to reclaim.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReclaimSpec {
    /// A seat is idle when its holder's last sign-in to the app (or, with none ever observed, the
    /// assignment) is older than this, in days (1d to 365d, default 60d). Beyond 90d only with
    /// spec.history on: Okta's System Log holds 90 days, so older sign-ins are known only once the
    /// operator has kept them.
    #[serde(default = "default_inactive_after")]
    #[schemars(regex(pattern = r"^[0-9]{1,3}d$"), length(max = 4))]
    #[x_kube(validation = Rule::new("!self.matches('^[0-9]{1,3}d$') || (int(self.substring(0, self.size() - 1)) >= 1 && int(self.substring(0, self.size() - 1)) <= 365)").message("reclaim.inactiveAfter must be between 1d and 365d"))]
    pub inactive_after: String,

    /// Okta group ids (00g…) whose members are never counted as seats to reclaim (executives, service
    /// accounts, people on leave). Listing their members needs the "View groups" permission (OAuth scope
    /// okta.groups.read). At most 20.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20), inner(regex(pattern = r"^[0-9A-Za-z]{1,64}$")))]
    pub exempt_groups: Vec<String>,

    /// Opt-in, off by default: keep the per-user list (who holds each seat to reclaim, and why) in a
    /// Secret of this namespace. It holds personal data (logins); without it none leaves the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_list: Option<UserListSpec>,
}

fn default_inactive_after() -> String {
    "60d".into()
}

impl Default for ReclaimSpec {
    fn default() -> Self {
        ReclaimSpec { inactive_after: default_inactive_after(), exempt_groups: Vec::new(), user_list: None }
    }
}

/// How much usage history to keep.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistorySpec {
    /// Calendar months kept, the current one included (0 to 25, default 13). With weeks 0 too, no history
    /// is kept (the first sync still reads the 90 days Okta holds: seats to reclaim are judged by them).
    #[serde(default = "default_history_months")]
    #[schemars(range(min = 0, max = 25))]
    pub months: u32,
    /// ISO weeks kept, the current one included (0 to 104, default 26).
    #[serde(default = "default_history_weeks")]
    #[schemars(range(min = 0, max = 104))]
    pub weeks: u32,
}

fn default_history_months() -> u32 {
    13
}
fn default_history_weeks() -> u32 {
    26
}

impl Default for HistorySpec {
    fn default() -> Self {
        HistorySpec { months: default_history_months(), weeks: default_history_weeks() }
    }
}

fn default_sync_interval() -> String {
    "1h".into()
}
fn default_usage_window() -> String {
    "30d".into()
}
fn default_max_apps() -> u32 {
    10
}
fn default_true() -> bool {
    true
}
fn default_refresh_interval() -> String {
    "24h".into()
}

/// Which System Log events count as a sign-in to an app.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UsageSpec {
    /// Event types that count as a sign-in when their outcome is SUCCESS, their actor is a User and they
    /// name an app of the inventory as their AppInstance target. The default covers SSO, RADIUS, OIDC and
    /// Office 365 rich-client sign-ins; one sign-in recorded under two of these types counts once.
    #[serde(default = "default_event_types")]
    #[schemars(length(min = 1, max = 20), inner(regex(pattern = r"^[a-z0-9_]+(\.[a-z0-9_]+)+$"), length(max = 100)))]
    #[x_kube(validation = Rule::new("self.all(t, self.exists_one(u, u == t))").message("usage.eventTypes must not list an event type twice"))]
    pub event_types: Vec<String>,
}

fn default_event_types() -> Vec<String> {
    DEFAULT_SIGN_IN_EVENT_TYPES.map(String::from).to_vec()
}

impl Default for UsageSpec {
    fn default() -> Self {
        UsageSpec { event_types: default_event_types() }
    }
}

/// How the operator authenticates to Okta: exactly one of apiToken and oauth.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.apiToken) != has(self.oauth)").message("credentials must set exactly one method: apiToken or oauth"))]
pub struct Credentials {
    /// An Okta API token (sent as `Authorization: SSWS <token>`), read from a Secret in this namespace.
    /// Create it as a read-only admin: it needs View users, View applications and View System Log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token: Option<ApiTokenCredentials>,
    /// An OAuth 2.0 API service app (client credentials with a private key, DPoP-bound tokens): the
    /// least-privilege way to connect, with exactly the read scopes it needs and no admin user behind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthCredentials>,
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
    #[serde(default = "default_token_key")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

fn default_token_key() -> String {
    "token".into()
}

/// An OAuth 2.0 API service app: Okta issues it short-lived, DPoP-bound access tokens for a signed
/// client assertion (private_key_jwt).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OAuthCredentials {
    /// The app's client ID (Admin Console: Applications > the API service app > General).
    #[schemars(length(min = 1, max = 100), regex(pattern = r"^[A-Za-z0-9_.-]+$"))]
    pub client_id: String,
    /// The Secret key holding the app's private key, as PEM (RSA or EC) or as a JWK.
    pub private_key: PrivateKeySource,
    /// The key ID (kid) registered with the public key in Okta; sent in the assertion's header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub key_id: Option<String>,
    /// Scopes to request; the default is the three read scopes the integration needs.
    #[serde(default = "default_scopes")]
    #[schemars(length(min = 1, max = 20), inner(regex(pattern = r"^[a-z0-9_.]+$"), length(max = 100)))]
    pub scopes: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    DEFAULT_OAUTH_SCOPES.map(String::from).to_vec()
}

/// Where the private key is.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PrivateKeySource {
    /// The Secret holding the private key. It must be in the same namespace as this OktaIntegration.
    pub secret_ref: PrivateKeySecretRef,
}

/// A key of a Secret in the same namespace that holds a private key.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PrivateKeySecretRef {
    /// Name of the Secret.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
    /// Key within the Secret's data that holds the private key.
    #[serde(default = "default_private_key_key")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

fn default_private_key_key() -> String {
    "privateKey".into()
}

/// What the operator observed: access, the last sync, org-wide totals and short lists of apps.
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
    /// Whether the credentials hold each read permission the integration needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessStatus>,
    /// The most recent sync, successful or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<LastSync>,
    /// When the next sync is due (absent while suspended or blocked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_sync_at: Option<Time>,
    /// Org-wide totals from the last successful sync; kept when a later sync fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// The most used apps (at most spec.maxAppsInStatus), most active users first. Every app has an OktaApp.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Atomic)]
    pub apps: Vec<AppSummary>,
    /// ACTIVE apps nobody signed in to in the window (at most spec.maxAppsInStatus), most unused seats
    /// first: the licences to reclaim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Atomic)]
    pub unused_apps: Vec<AppSummary>,
    /// True when the org has more apps than status.apps lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apps_truncated: Option<bool>,
    /// The last value of the dti.dev/sync-requested-at annotation that the operator acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_sync_request: Option<String>,
    /// The saved sync state the next sync resumes from after a restart or failover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointStatus>,
    /// The per-user list (spec.reclaim.userList) last written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim_user_list: Option<UserListStatus>,
    /// The operator replica that syncs this integration (run --sharding): its identity, the pod's name
    /// and process id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub shard: Option<String>,
}

/// The read permissions the setup guide asks for, each Granted, Denied or Unknown (not checked yet).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AccessStatus {
    /// "View users" (scope okta.users.read): GET /api/v1/users.
    pub users: Permission,
    /// "View applications" (scope okta.apps.read): GET /api/v1/apps.
    pub applications: Permission,
    /// "View System Log" (scope okta.logs.read): GET /api/v1/logs.
    pub system_log: Permission,
    /// The resourceVersion of the credentials' Secret these permissions were checked with: a replica that
    /// takes the integration over (or a restarted operator) trusts them while the Secret is unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_resource_version: Option<String>,
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
    /// Full (every listing and the whole window) or Incremental (new System Log events and the apps
    /// they touch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<SyncMode>,
    /// Okta API requests the sync issued, retries included (also when it failed).
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
    /// Records Okta sent that could not be used (a null where a value belongs, an event without a time),
    /// skipped and counted; a listing with more than 1% of them fails.
    #[serde(default)]
    pub skipped_records: u64,
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

/// How much of the org a sync read.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    Full,
    Incremental,
}

/// Org-wide totals over the usage window.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Users the Okta users list returns: every user except DEPROVISIONED ones.
    pub users: u64,
    /// Users by Okta status (ACTIVE, SUSPENDED, LOCKED_OUT, DEPROVISIONED, ...), DEPROVISIONED included.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub users_by_status: BTreeMap<String, u64>,
    /// Distinct users with at least one counted sign-in (see spec.usage.eventTypes) to an app of the inventory in the window.
    pub active_users: u64,
    /// Apps of the inventory: the organization's app instances, whatever their status, without Okta's own apps and OAuth service clients.
    pub apps: u64,
    /// Apps whose status is ACTIVE.
    pub active_apps: u64,
    /// Apps with at least one counted sign-in in the window.
    pub used_apps: u64,
    /// ACTIVE apps with no counted sign-in in the window: candidates for reclaiming licences.
    pub unused_apps: u64,
    /// Okta's own apps and OAuth service clients left out of the inventory (listed when spec.includeOktaApps is true).
    #[serde(default)]
    pub excluded_apps: u64,
    /// Seats held over all apps: assignments whose app-user status holds a seat (ACTIVE, PROVISIONED, PENDING, STAGED, APPROVED, IMPLICIT).
    #[serde(default)]
    pub assigned_users: u64,
    /// Seat holders with no counted sign-in to their app in the window, summed over all apps: the licence-reclaim figure.
    #[serde(default)]
    pub unused_seats: u64,
    /// Counted sign-ins in the window, summed over all apps.
    pub sso_events: u64,
    /// Records Okta sent that the last successful sync skipped.
    #[serde(default)]
    pub skipped_records: u64,
    /// When the sync these totals come from finished: how fresh the data is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful_sync_time: Option<Time>,
    /// Where the usage window of these totals ends (when that sync's System Log read caught up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end: Option<Time>,
    /// The org's active users (distinct over all apps), sign-ins and seats per calendar month and ISO
    /// week, newest first; kept beyond the System Log's 90 days.
    #[serde(default, skip_serializing_if = "UsageHistory::is_empty")]
    pub history: UsageHistory,
    /// What the history counts (a digest of spec.usage.eventTypes and spec.includeOktaApps): history
    /// counted under other rules is not carried on.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 64))]
    pub history_basis: String,
    /// Seats to reclaim over all apps, by reason and by grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim: Option<ReclaimSeats>,
    /// Seats, active users and unused seats per value of each spec.breakdown attribute over all apps
    /// (active users distinct): the top 10 values by seats and one `other` row for the rest (the
    /// OktaApps keep 20; `dti-operator sync` gives every value).
    #[serde(default, skip_serializing_if = "UsageBreakdown::is_empty")]
    pub breakdown: UsageBreakdown,
    /// What the seats to reclaim were judged by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim_basis: Option<ReclaimBasis>,
}

/// One app and its usage over the window.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AppSummary {
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
    /// True for Okta's own apps and OAuth service clients (listed only with spec.includeOktaApps).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub built_in: bool,
    /// Seats held: assignments, direct or through a group, whose app-user status holds a seat.
    pub assigned_users: u64,
    /// Distinct users with a counted sign-in to this app in the window.
    pub active_users: u64,
    /// Seat holders with no counted sign-in to this app in the window.
    #[serde(default)]
    pub unused_seats: u64,
    /// Counted sign-ins to this app in the window.
    pub sso_events: u64,
    /// The newest counted sign-in in the usage window (millisecond precision, as Okta records it); null if none.
    pub last_used: Option<DateTime<Utc>>,
    /// Seats to reclaim, by reason and by grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim: Option<ReclaimSeats>,
}

/// The saved sync state.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointStatus {
    /// Saved (the next sync after a restart resumes from it) or Skipped (too large; the next sync after a
    /// restart scans in full).
    pub state: String,
    /// Compressed size in bytes.
    pub bytes: u64,
    /// OktaSyncState objects holding it.
    pub parts: u32,
    /// When it was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_at: Option<Time>,
}
