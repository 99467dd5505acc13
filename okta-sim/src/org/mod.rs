//! The synthetic org: users, groups, apps and assignments, generated deterministically from a seed, with
//! a real org's untidy parts: Okta's own apps and OAuth service clients in the app list, a RADIUS app and
//! OIDC apps that sign in with other event types, app users in every AppUserStatus, users who are
//! suspended, locked out or deprovisioned but still assigned, and apps deleted since their sign-ins.
//! The org is mutable at run time (control endpoints, churn); the System Log history is generated
//! lazily by [`super::events`] from the initial sign-in pools.
//!
//! Here the model (types and lookups); `generate` builds an org from a seed, `mutate` changes it at run time.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

mod generate;

pub use generate::DEPARTMENT_NAMES;
mod mutate;

/// Tags of the seeded draws, one per kind of thing drawn.
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
    /// The department group the user belongs to.
    pub department: u16,
    pub profile: Profile,
}

/// Profile attributes beyond the names: base `department` and `costCenter` and a custom `workLocation`
/// (UserProfile in Okta's spec: custom attributes sit beside the base ones). None: not set on the user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub department: Option<String>,
    pub cost_center: Option<String>,
    pub work_location: Option<String>,
}

/// The profile attributes okta-sim's users carry (besides names, login and email).
pub const PROFILE_ATTRIBUTES: [&str; 3] = ["department", "costCenter", "workLocation"];

impl Profile {
    pub fn get(&self, name: &str) -> Option<&str> {
        match name {
            "department" => self.department.as_deref(),
            "costCenter" => self.cost_center.as_deref(),
            "workLocation" => self.work_location.as_deref(),
            _ => None,
        }
    }

    /// Sets one attribute (None unsets it); false for an attribute okta-sim does not model.
    pub fn set(&mut self, name: &str, value: Option<String>) -> bool {
        let slot = match name {
            "department" => &mut self.department,
            "costCenter" => &mut self.cost_center,
            "workLocation" => &mut self.work_location,
            _ => return false,
        };
        *slot = value;
        true
    }
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
    /// When the user was assigned (the app user's `created`, AppUser in the spec).
    pub assigned: DateTime<Utc>,
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

impl Org {
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
