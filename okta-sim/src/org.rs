//! The synthetic org: users, groups, apps and assignments, generated deterministically from a seed, with
//! a real org's untidy parts: Okta's own apps and OAuth service clients in the app list, a RADIUS app and
//! OIDC apps that sign in with other event types, app users in every AppUserStatus, users who are
//! suspended, locked out or deprovisioned but still assigned, and apps deleted since their sign-ins.
//! The org is mutable at run time (control endpoints, churn); the System Log history is generated
//! lazily by [`super::events`] from the initial sign-in pools.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::rng::{Draws, hash3, okta_id};

const TAG_USER: u64 = 1;
const TAG_GROUP: u64 = 2;
const TAG_APP: u64 = 3;
const TAG_ASSIGN: u64 = 4;
const TAG_POOL: u64 = 5;
const TAG_ADMIN: u64 = 6;
const TAG_STATUS: u64 = 7;
const TAG_OWN: u64 = 8;

/// How big an org to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct OrgSize {
    pub users: u32,
    /// The organization's own (SaaS) apps; Okta's own apps, service clients and deleted apps come on top.
    pub apps: u32,
    pub groups: u32,
    /// Days of System Log history before the simulator's start.
    pub days: u32,
    /// Average sign-ins (successful or failed) per signing-in user per working day.
    pub signins_per_user_day: f64,
}

impl OrgSize {
    /// The named presets: small, medium, large (about 2M sign-ins over 30 days) and xlarge (10x large).
    pub fn preset(name: &str) -> Option<OrgSize> {
        let size = |users, apps, groups, days, rate| OrgSize { users, apps, groups, days, signins_per_user_day: rate };
        match name {
            "small" => Some(size(300, 25, 12, 35, 2.0)),
            "medium" => Some(size(5_000, 200, 60, 35, 2.0)),
            "large" => Some(size(50_000, 1_000, 400, 31, 2.4)),
            "xlarge" => Some(size(500_000, 10_000, 4_000, 31, 2.4)),
            _ => None,
        }
    }
}

/// Okta's UserStatus (OpenAPI spec 2026.06.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UserStatus {
    Active,
    Deprovisioned,
    Suspended,
    Staged,
    Provisioned,
    LockedOut,
    PasswordExpired,
    Recovery,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "ACTIVE",
            UserStatus::Deprovisioned => "DEPROVISIONED",
            UserStatus::Suspended => "SUSPENDED",
            UserStatus::Staged => "STAGED",
            UserStatus::Provisioned => "PROVISIONED",
            UserStatus::LockedOut => "LOCKED_OUT",
            UserStatus::PasswordExpired => "PASSWORD_EXPIRED",
            UserStatus::Recovery => "RECOVERY",
        }
    }
    pub fn parse(text: &str) -> Option<UserStatus> {
        [
            UserStatus::Active,
            UserStatus::Deprovisioned,
            UserStatus::Suspended,
            UserStatus::Staged,
            UserStatus::Provisioned,
            UserStatus::LockedOut,
            UserStatus::PasswordExpired,
            UserStatus::Recovery,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
    /// Users who can complete a sign-in to an app.
    pub fn signs_in(self) -> bool {
        matches!(self, UserStatus::Active | UserStatus::PasswordExpired | UserStatus::Recovery)
    }
}

/// Okta's AppUserStatus (OpenAPI spec 2026.06.3, `AppUserStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppUserStatus {
    Active,
    Approved,
    Deprovisioned,
    Implicit,
    Imported,
    Inactive,
    Matched,
    Pending,
    Provisioned,
    Revoked,
    Staged,
    Suspended,
    Unassigned,
}

impl AppUserStatus {
    pub const ALL: [AppUserStatus; 13] = [
        AppUserStatus::Active,
        AppUserStatus::Approved,
        AppUserStatus::Deprovisioned,
        AppUserStatus::Implicit,
        AppUserStatus::Imported,
        AppUserStatus::Inactive,
        AppUserStatus::Matched,
        AppUserStatus::Pending,
        AppUserStatus::Provisioned,
        AppUserStatus::Revoked,
        AppUserStatus::Staged,
        AppUserStatus::Suspended,
        AppUserStatus::Unassigned,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            AppUserStatus::Active => "ACTIVE",
            AppUserStatus::Approved => "APPROVED",
            AppUserStatus::Deprovisioned => "DEPROVISIONED",
            AppUserStatus::Implicit => "IMPLICIT",
            AppUserStatus::Imported => "IMPORTED",
            AppUserStatus::Inactive => "INACTIVE",
            AppUserStatus::Matched => "MATCHED",
            AppUserStatus::Pending => "PENDING",
            AppUserStatus::Provisioned => "PROVISIONED",
            AppUserStatus::Revoked => "REVOKED",
            AppUserStatus::Staged => "STAGED",
            AppUserStatus::Suspended => "SUSPENDED",
            AppUserStatus::Unassigned => "UNASSIGNED",
        }
    }
    pub fn parse(text: &str) -> Option<AppUserStatus> {
        AppUserStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
    /// Whether the app user can use the app (ACTIVE: "provisioned and enabled to use the app";
    /// PROVISIONED and IMPLICIT likewise hold a working account).
    pub fn can_sign_in(self) -> bool {
        matches!(self, AppUserStatus::Active | AppUserStatus::Provisioned | AppUserStatus::Implicit)
    }
    /// The simulator's own reading of Okta's status descriptions (x-enumDescriptions of AppUserStatus):
    /// an account that is enabled, or is being provisioned or awaits acknowledgment, is a seat.
    pub fn holds_seat(self) -> bool {
        matches!(
            self,
            AppUserStatus::Active
                | AppUserStatus::Provisioned
                | AppUserStatus::Pending
                | AppUserStatus::Staged
                | AppUserStatus::Approved
                | AppUserStatus::Implicit
        )
    }
}

pub struct User {
    pub id: String,
    pub first: &'static str,
    pub last: &'static str,
    pub login: String,
    pub status: UserStatus,
    pub created: DateTime<Utc>,
    pub department: u16,
}

pub struct Group {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Members, sorted by user index.
    pub members: Vec<u32>,
    pub created: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignOnMode {
    AutoLogin,
    BasicAuth,
    Bookmark,
    BrowserPlugin,
    OpenIdConnect,
    Saml11,
    Saml20,
    SecurePasswordStore,
    WsFederation,
    /// A RADIUS app: its signOnMode RADIUS_FOR_GENERIC_APP is outside the spec's enum (seen in real orgs:
    /// okta/okta-sdk-java#539; RADIUS_FOR_CISCO_ASA in okta/okta-sdk-python#167), so clients must cope.
    Radius,
}

impl SignOnMode {
    pub const ALL: [SignOnMode; 9] = [
        SignOnMode::Saml20,
        SignOnMode::OpenIdConnect,
        SignOnMode::BrowserPlugin,
        SignOnMode::Bookmark,
        SignOnMode::AutoLogin,
        SignOnMode::SecurePasswordStore,
        SignOnMode::WsFederation,
        SignOnMode::BasicAuth,
        SignOnMode::Saml11,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            SignOnMode::AutoLogin => "AUTO_LOGIN",
            SignOnMode::BasicAuth => "BASIC_AUTH",
            SignOnMode::Bookmark => "BOOKMARK",
            SignOnMode::BrowserPlugin => "BROWSER_PLUGIN",
            SignOnMode::OpenIdConnect => "OPENID_CONNECT",
            SignOnMode::Saml11 => "SAML_1_1",
            SignOnMode::Saml20 => "SAML_2_0",
            SignOnMode::SecurePasswordStore => "SECURE_PASSWORD_STORE",
            SignOnMode::WsFederation => "WS_FEDERATION",
            SignOnMode::Radius => "RADIUS_FOR_GENERIC_APP",
        }
    }
    pub fn parse(text: &str) -> Option<SignOnMode> {
        SignOnMode::ALL.into_iter().find(|m| m.as_str() == text)
    }
    /// The app integration name Okta gives template apps of this mode (the spec constrains several of them).
    fn template_name(self) -> Option<&'static str> {
        match self {
            SignOnMode::BasicAuth => Some("template_basic_auth"),
            SignOnMode::Bookmark => Some("bookmark"),
            SignOnMode::BrowserPlugin => Some("template_swa"),
            SignOnMode::OpenIdConnect => Some("oidc_client"),
            SignOnMode::SecurePasswordStore => Some("template_sps"),
            SignOnMode::WsFederation => Some("template_wsfed"),
            _ => None,
        }
    }
}

/// What kind of app instance this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppKind {
    /// One of the organization's own apps.
    Saas,
    /// One of Okta's own apps (Admin Console, Dashboard, ...).
    OktaOwn,
    /// An OAuth 2.0 service client: client credentials, no users.
    ServiceClient,
}

/// How an app's sign-ins appear in the System Log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInStyle {
    /// `user.authentication.sso`.
    Sso,
    /// `app.oauth2.signon`, sometimes with a twin `user.authentication.sso` in the same transaction.
    Oidc,
    /// `user.authentication.auth_via_radius`.
    Radius,
    /// `user.authentication.sso` from browsers, `user.authentication.auth_via_richclient` from Office
    /// desktop clients.
    Office,
}

pub struct App {
    pub id: String,
    pub name: String,
    pub label: String,
    pub active: bool,
    /// Deleted: no longer listed, but its sign-ins stay in the System Log.
    pub deleted: bool,
    /// When it was deleted: before the simulator started (never listed to any client), or while running.
    pub deleted_at: Option<DateTime<Utc>>,
    pub sign_on_mode: SignOnMode,
    pub kind: AppKind,
    pub style: SignInStyle,
    pub created: DateTime<Utc>,
    /// Groups assigned to the app.
    pub groups: Vec<u32>,
    /// The OAuth client's application_type for OIDC apps (web, service, ...).
    pub application_type: Option<&'static str>,
}

/// One row of an app's user list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub user: u32,
    /// Assigned directly (scope USER) rather than only through a group (scope GROUP).
    pub direct: bool,
    pub status: AppUserStatus,
}

pub struct Org {
    pub seed: u64,
    pub size: OrgSize,
    /// The simulator's start: System Log history ends here.
    pub anchor: DateTime<Utc>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    /// Every app instance ever: listed ones and deleted ones.
    pub apps: Vec<App>,
    /// Per app, its assignments sorted by user index.
    pub assignments: Vec<Vec<Assignment>>,
    /// Per app, the users who sign in to it in the generated history (a subset: unused seats exist).
    pub pools: Vec<Vec<u32>>,
    /// The service account that owns the API tokens (GET /api/v1/users/me).
    pub admin: User,
    app_by_id: HashMap<String, u32>,
    user_by_id: HashMap<String, u32>,
}

const FIRST_NAMES: [&str; 24] = [
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jon", "Kira", "Liam", "Maya", "Nils",
    "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Vik", "Wen", "Zoe",
];
const LAST_NAMES: [&str; 20] = [
    "Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski", "Lopez",
    "Moreau", "Nguyen", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Weber",
];
const DEPARTMENTS: usize = 10;

/// Okta's own apps as a new org's `/api/v1/apps` lists them (name, label): a public API listing of a
/// fresh oktapreview org shows these, all ACTIVE, OPENID_CONNECT; terraformer's Okta provider skips the
/// first three (GoogleCloudPlatform/terraformer providers/okta/app.go).
pub const OKTA_OWN_APPS: [(&str, &str); 11] = [
    ("saasure", "Okta Admin Console"),
    ("okta_enduser", "Okta Dashboard"),
    ("okta_browser_plugin", "Okta Browser Plugin"),
    ("okta_flow_sso", "Okta Workflows"),
    ("flow", "Okta Workflows OAuth"),
    ("okta_iga_reviewer", "Okta Access Certification Reviews"),
    ("okta_iga_security_access_reviews", "Okta Security Access Reviews"),
    ("okta_access_requests_resource_catalog", "Okta Identity Governance"),
    ("okta_atspoke_sso", "Okta Access Requests"),
    ("okta_account_settings", "Okta End User Settings"),
    ("partner_portal", "Partner Admin Portal"),
];

/// OAuth 2.0 service clients (client credentials grant: developer.okta.com guides/implement-grant-type
/// /clientcreds) and an API service integration.
const SERVICE_CLIENTS: [&str; 3] =
    ["Billing Sync Bot", "HR Provisioning Service", "Okta Workflows Connector (API service)"];

/// Well-known SaaS apps (name, label, sign-on mode), most widely assigned first; one of each mode early on.
const CATALOG: [(&str, &str, SignOnMode); 31] = [
    ("google", "Google Workspace", SignOnMode::Saml20),
    ("slack", "Slack", SignOnMode::Saml20),
    ("zoomus", "Zoom", SignOnMode::Saml20),
    ("office365", "Microsoft Office 365", SignOnMode::WsFederation),
    ("atlassian", "Atlassian Cloud", SignOnMode::Saml20),
    ("salesforce", "Salesforce", SignOnMode::Saml20),
    ("radius_vpn", "Corporate VPN (RADIUS)", SignOnMode::Radius),
    ("workday", "Workday", SignOnMode::Saml20),
    ("github_enterprise", "GitHub Enterprise", SignOnMode::Saml20),
    ("box", "Box", SignOnMode::Saml20),
    ("oidc", "Internal Dashboard", SignOnMode::OpenIdConnect),
    ("swa", "Expense Portal", SignOnMode::BrowserPlugin),
    ("bookmark", "Company Intranet", SignOnMode::Bookmark),
    ("figma", "Figma", SignOnMode::AutoLogin),
    ("sps", "Vendor Portal", SignOnMode::SecurePasswordStore),
    ("basic", "Legacy Payroll", SignOnMode::BasicAuth),
    ("concur", "SAP Concur", SignOnMode::Saml11),
    ("servicenow_ud", "ServiceNow", SignOnMode::Saml20),
    ("docusign", "DocuSign", SignOnMode::Saml20),
    ("dropbox_for_business", "Dropbox Business", SignOnMode::Saml20),
    ("zendesk", "Zendesk", SignOnMode::Saml20),
    ("hubspot", "HubSpot", SignOnMode::Saml20),
    ("amazon_aws", "AWS Account Federation", SignOnMode::Saml20),
    ("datadog", "Datadog", SignOnMode::Saml20),
    ("notion", "Notion", SignOnMode::Saml20),
    ("miro", "Miro", SignOnMode::Saml20),
    ("asana", "Asana", SignOnMode::Saml20),
    ("tableau_online", "Tableau Online", SignOnMode::Saml20),
    ("gong", "Gong", SignOnMode::Saml20),
    ("lucidchart", "Lucidchart", SignOnMode::AutoLogin),
    ("pagerduty", "PagerDuty", SignOnMode::Saml20),
];

/// SaaS apps deleted since their sign-ins (sign-ins in the log, absent from the app list).
const DELETED_APPS: u32 = 2;

impl Org {
    pub fn generate(seed: u64, size: OrgSize, anchor: DateTime<Utc>) -> Org {
        let users = generate_users(seed, &size, anchor);
        let groups = generate_groups(seed, &size, &users, anchor);
        let mut apps = generate_apps(seed, &size, anchor);
        let assignments = assign(seed, &size, &users, &groups, &mut apps);
        let pools = pick_pools(seed, &users, &apps, &assignments);
        let admin = User {
            id: okta_id("00u", seed, TAG_ADMIN, 0),
            first: "DTI",
            last: "Service Account",
            login: "dti-service@acme.example".into(),
            status: UserStatus::Active,
            created: anchor - Duration::days(400),
            department: 0,
        };
        let mut org = Org {
            seed,
            size,
            anchor,
            users,
            groups,
            apps,
            assignments,
            pools,
            admin,
            app_by_id: HashMap::new(),
            user_by_id: HashMap::new(),
        };
        org.reindex();
        org
    }

    fn reindex(&mut self) {
        self.app_by_id = self.apps.iter().enumerate().map(|(i, a)| (a.id.clone(), i as u32)).collect();
        self.user_by_id = self.users.iter().enumerate().map(|(i, u)| (u.id.clone(), i as u32)).collect();
    }

    /// An app by id, deleted ones included.
    pub fn app_index(&self, id: &str) -> Option<usize> {
        self.app_by_id.get(id).map(|&i| i as usize)
    }

    /// A listed app (not deleted) by id.
    pub fn listed_app(&self, id: &str) -> Option<usize> {
        self.app_index(id).filter(|&a| !self.apps[a].deleted)
    }

    pub fn user_index(&self, id: &str) -> Option<usize> {
        self.user_by_id.get(id).map(|&i| i as usize)
    }

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

    /// Sets (or clears, with None) a direct assignment; returns whether anything changed.
    pub fn set_direct(&mut self, app: usize, user: u32, status: Option<AppUserStatus>) -> bool {
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
                rows.insert(i, Assignment { user, direct: true, status: s });
                true
            }
            (Err(_), None) => false,
        }
    }

    fn in_app_groups(&self, app: usize, user: u32) -> bool {
        self.apps[app].groups.iter().any(|&g| self.groups[g as usize].members.binary_search(&user).is_ok())
    }

    /// Recomputes the GROUP rows of `user` in `app` after a group or membership change.
    pub fn refresh_group_row(&mut self, app: usize, user: u32) {
        let in_groups = self.in_app_groups(app, user);
        let rows = &mut self.assignments[app];
        match rows.binary_search_by_key(&user, |r| r.user) {
            Ok(i) if !in_groups && !rows[i].direct => {
                rows.remove(i);
            }
            Err(i) if in_groups => rows.insert(i, Assignment { user, direct: false, status: AppUserStatus::Active }),
            _ => {}
        }
    }

    /// The apps a group is assigned to.
    pub fn apps_of_group(&self, group: u32) -> Vec<usize> {
        (0..self.apps.len()).filter(|&a| self.apps[a].groups.contains(&group)).collect()
    }
}

/// How sign-ins to an app of this mode (and label) show up in the log.
fn style_of(mode: SignOnMode, label: &str) -> SignInStyle {
    match mode {
        SignOnMode::OpenIdConnect => SignInStyle::Oidc,
        SignOnMode::Radius => SignInStyle::Radius,
        _ if label == "Microsoft Office 365" => SignInStyle::Office,
        _ => SignInStyle::Sso,
    }
}

fn generate_users(seed: u64, size: &OrgSize, anchor: DateTime<Utc>) -> Vec<User> {
    (0..size.users)
        .map(|i| {
            let mut d = Draws::new(seed, TAG_USER, i as u64);
            let first = FIRST_NAMES[d.below(FIRST_NAMES.len() as u64) as usize];
            let last = LAST_NAMES[d.below(LAST_NAMES.len() as u64) as usize];
            // Workforce mix: mostly ACTIVE, with leavers, suspensions, lockouts and not-yet-activated hires.
            let status = match d.unit() {
                r if r < 0.05 => UserStatus::Deprovisioned,
                r if r < 0.07 => UserStatus::Suspended,
                r if r < 0.09 => UserStatus::Staged,
                r if r < 0.10 => UserStatus::Provisioned,
                r if r < 0.11 => UserStatus::LockedOut,
                r if r < 0.115 => UserStatus::PasswordExpired,
                r if r < 0.12 => UserStatus::Recovery,
                _ => UserStatus::Active,
            };
            User {
                id: okta_id("00u", seed, TAG_USER, i as u64),
                first,
                last,
                login: format!("{}.{}{}@acme.example", first.to_lowercase(), last.to_lowercase(), i),
                status,
                created: anchor - Duration::days(100 + d.below(1500) as i64),
                department: d.below(DEPARTMENTS as u64) as u16,
            }
        })
        .collect()
}

fn generate_groups(seed: u64, size: &OrgSize, users: &[User], anchor: DateTime<Utc>) -> Vec<Group> {
    const DEPARTMENT_NAMES: [&str; DEPARTMENTS] = [
        "Engineering",
        "Sales",
        "Marketing",
        "Finance",
        "Support",
        "People",
        "Legal",
        "Operations",
        "Product",
        "Design",
    ];
    let count = size.groups.max(1);
    let mut groups: Vec<Group> = (0..count)
        .map(|g| {
            let (name, description) = match g {
                0 => ("Everyone".to_string(), "All users in the org".to_string()),
                g if (g as usize) <= DEPARTMENTS => {
                    let dept = DEPARTMENT_NAMES[g as usize - 1];
                    (dept.to_string(), format!("Members of {dept}"))
                }
                g => (format!("Project Team {g}"), "Cross-functional project team".into()),
            };
            Group {
                id: okta_id("00g", seed, TAG_GROUP, g as u64),
                name,
                description,
                members: Vec::new(),
                created: anchor - Duration::days(800),
            }
        })
        .collect();
    let project_groups = count.saturating_sub(1 + DEPARTMENTS as u32);
    for (i, user) in users.iter().enumerate() {
        if user.status == UserStatus::Deprovisioned {
            continue;
        }
        groups[0].members.push(i as u32);
        let dept_group = 1 + user.department as usize;
        if dept_group < groups.len() {
            groups[dept_group].members.push(i as u32);
        }
        if project_groups > 0 {
            let mut d = Draws::new(seed, TAG_GROUP ^ 0x55, i as u64);
            if d.chance(0.3) {
                let g = 1 + DEPARTMENTS + d.below(project_groups as u64) as usize;
                groups[g].members.push(i as u32);
            }
        }
    }
    groups
}

fn own_app(seed: u64, index: usize, anchor: DateTime<Utc>) -> App {
    let (name, label) = OKTA_OWN_APPS[index];
    App {
        id: okta_id("0oa", seed, TAG_OWN, index as u64),
        name: name.into(),
        label: label.into(),
        active: true,
        deleted: false,
        deleted_at: None,
        sign_on_mode: SignOnMode::OpenIdConnect,
        kind: AppKind::OktaOwn,
        style: SignInStyle::Sso,
        created: anchor - Duration::days(1200),
        groups: Vec::new(),
        application_type: Some("browser"),
    }
}

fn service_client(seed: u64, index: usize, anchor: DateTime<Utc>) -> App {
    App {
        id: okta_id("0oa", seed, TAG_OWN ^ 0x5e, index as u64),
        name: "oidc_client".into(),
        label: SERVICE_CLIENTS[index].into(),
        active: true,
        deleted: false,
        deleted_at: None,
        sign_on_mode: SignOnMode::OpenIdConnect,
        kind: AppKind::ServiceClient,
        style: SignInStyle::Sso,
        created: anchor - Duration::days(300),
        groups: Vec::new(),
        application_type: Some("service"),
    }
}

fn saas_app(seed: u64, a: u32, anchor: DateTime<Utc>) -> App {
    let mut d = Draws::new(seed, TAG_APP, a as u64);
    let (base_name, label, mode) = match CATALOG.get(a as usize) {
        Some(&(name, label, mode)) => (name.to_string(), label.to_string(), mode),
        None => {
            let mode = SignOnMode::ALL[d.below(SignOnMode::ALL.len() as u64) as usize];
            (format!("acme_app_{a}"), format!("Acme App {a}"), mode)
        }
    };
    let name = mode.template_name().map(str::to_string).unwrap_or(base_name);
    // A few apps were switched off; never the org's core tools.
    let active = a < 5 || !d.chance(0.08);
    App {
        id: okta_id("0oa", seed, TAG_APP, a as u64),
        name,
        style: style_of(mode, &label),
        label,
        active,
        deleted: false,
        deleted_at: None,
        sign_on_mode: mode,
        kind: AppKind::Saas,
        created: anchor - Duration::days(30 + d.below(1000) as i64),
        groups: Vec::new(),
        application_type: (mode == SignOnMode::OpenIdConnect).then_some("web"),
    }
}

/// Apps in listing order: Okta's own first (as a new org has them), then the organization's, with the
/// service clients and the deleted apps mixed in.
fn generate_apps(seed: u64, size: &OrgSize, anchor: DateTime<Utc>) -> Vec<App> {
    let mut apps: Vec<App> = (0..OKTA_OWN_APPS.len()).map(|i| own_app(seed, i, anchor)).collect();
    for a in 0..size.apps {
        apps.push(saas_app(seed, a, anchor));
        if a == 3 || a == 12 || a == 20 {
            let i = [3, 12, 20].iter().position(|&x| x == a).unwrap_or(0);
            apps.push(service_client(seed, i, anchor));
        }
    }
    for d in 0..DELETED_APPS {
        let mut app = saas_app(seed ^ 0xde1, size.apps + d, anchor);
        app.label = format!("Retired Tool {}", d + 1);
        app.deleted = true;
        app.deleted_at = Some(anchor - Duration::seconds(1));
        apps.push(app);
    }
    apps
}

/// App-user statuses: most rows ACTIVE, a few in each other status Okta lists.
fn row_status(seed: u64, app: usize, user: u32) -> AppUserStatus {
    let roll = hash3(seed ^ app as u64, TAG_STATUS, user as u64) % 1000;
    match roll {
        0..=879 => AppUserStatus::Active,
        880..=919 => AppUserStatus::Provisioned,
        r => AppUserStatus::ALL[1 + ((r - 920) as usize % 12)],
    }
}

/// Assigns users to apps: SaaS app rank r reaches about 0.9 / r^0.8 of the workforce (a long tail),
/// through the Everyone group, department groups and direct assignments. Okta's Dashboard and Browser
/// Plugin go to Everyone, the Admin Console to a few admins; service clients have no users.
/// The share of users an app reaches directly, and the groups assigned to it; None for service clients.
/// Everyone has the Dashboard and the Browser Plugin (through Everyone); the top SaaS apps go to Everyone.
fn reach_of(app: &mut App, rank: usize, d: &mut Draws, groups: usize, users: usize) -> Option<f64> {
    match app.kind {
        AppKind::ServiceClient => None,
        AppKind::OktaOwn if matches!(app.name.as_str(), "okta_enduser" | "okta_browser_plugin") => {
            app.groups.push(0);
            Some(0.0)
        }
        AppKind::OktaOwn => Some(20.0 / users.max(1) as f64),
        AppKind::Saas => {
            let reach = (0.9 / (rank as f64).powf(0.8)).min(1.0);
            if rank <= 3 {
                app.groups.push(0);
            } else if reach > 0.15 && groups > 1 && d.chance(0.6) {
                let g = 1 + d.below((groups - 1).min(DEPARTMENTS) as u64) as u32;
                app.groups.push(g);
            }
            Some(reach)
        }
    }
}

fn assign(seed: u64, size: &OrgSize, users: &[User], groups: &[Group], apps: &mut [App]) -> Vec<Vec<Assignment>> {
    let mut all = Vec::with_capacity(apps.len());
    let mut rank = 0usize;
    for (a, app) in apps.iter_mut().enumerate() {
        let mut d = Draws::new(seed, TAG_ASSIGN, a as u64);
        let mut assigned: HashMap<u32, Assignment> = HashMap::new();
        if app.kind == AppKind::Saas {
            rank += 1;
        }
        let Some(reach) = reach_of(app, rank, &mut d, groups.len(), users.len()) else {
            all.push(Vec::new()); // service clients: no assignments (client credentials, no people)
            continue;
        };
        for &g in &app.groups {
            for &u in &groups[g as usize].members {
                assigned.entry(u).or_insert(Assignment { user: u, direct: false, status: AppUserStatus::Active });
            }
        }
        // Direct assignments: sampled draws, so the cost follows assignments rather than users x apps.
        let direct_share = if app.groups.is_empty() { reach } else { reach * 0.1 };
        let draws = (direct_share * users.len() as f64).round() as u64;
        for _ in 0..draws {
            let u = d.below(users.len().max(1) as u64) as u32;
            // Leavers mostly lose their assignments; some are still assigned (seats to reclaim).
            if users[u as usize].status == UserStatus::Deprovisioned && !d.chance(0.3) {
                continue;
            }
            assigned.insert(u, Assignment { user: u, direct: true, status: row_status(seed, a, u) });
        }
        let last_saas = app.kind == AppKind::Saas && rank == size.apps as usize && size.apps > 3;
        if assigned.is_empty()
            && app.kind == AppKind::Saas
            && !last_saas
            && let Some(u) = users.iter().position(|u| u.status != UserStatus::Deprovisioned)
        {
            assigned.insert(u as u32, Assignment { user: u as u32, direct: true, status: AppUserStatus::Active });
        }
        // The last SaaS app stays unassigned on purpose (an edge case worth serving).
        if last_saas && !app.deleted {
            assigned.clear();
            app.groups.clear();
        }
        let mut rows: Vec<Assignment> = assigned.into_values().collect();
        rows.sort_by_key(|r| r.user);
        all.push(rows);
    }
    all
}

/// Chooses who signs in to each app: its adoption share of the assigned users who can sign in. About one
/// ACTIVE SaaS app in ten has no adoption at all (an unused app), INACTIVE apps cannot be signed in to,
/// most users open the Okta Dashboard, and service clients have no users.
fn pick_pools(seed: u64, users: &[User], apps: &[App], assignments: &[Vec<Assignment>]) -> Vec<Vec<u32>> {
    apps.iter()
        .enumerate()
        .map(|(a, app)| {
            let mut d = Draws::new(seed, TAG_POOL, a as u64);
            let adoption = match app.kind {
                AppKind::ServiceClient => 0.0,
                AppKind::OktaOwn if app.name == "okta_enduser" => 0.8,
                AppKind::OktaOwn if app.name == "saasure" => 1.0,
                AppKind::OktaOwn => 0.1,
                AppKind::Saas if !app.active || (a >= 16 && d.chance(0.1)) => 0.0,
                AppKind::Saas => 0.25 + 0.7 * d.unit(),
            };
            let threshold = (adoption * u64::MAX as f64) as u64;
            assignments[a]
                .iter()
                .filter(|row| users[row.user as usize].status.signs_in() && row.status.can_sign_in())
                .filter(|row| hash3(seed ^ (a as u64) << 20, TAG_POOL, row.user as u64) < threshold)
                .map(|row| row.user)
                .collect()
        })
        .collect()
}
