//! The synthetic org: users, groups, apps and assignments, generated deterministically from a seed.
//! Only the directory is materialised; System Log events are produced lazily by [`super::events`].

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::rng::{Draws, hash3, okta_id};

const TAG_USER: u64 = 1;
const TAG_GROUP: u64 = 2;
const TAG_APP: u64 = 3;
const TAG_ASSIGN: u64 = 4;
const TAG_POOL: u64 = 5;
const TAG_ADMIN: u64 = 6;

/// How big an org to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct OrgSize {
    pub users: u32,
    pub apps: u32,
    pub groups: u32,
    /// Days of System Log history before the simulator's start.
    pub days: u32,
    /// Average successful-or-failed SSO sign-ins per signing-in user per working day.
    pub signins_per_user_day: f64,
}

impl OrgSize {
    /// The named presets: small, medium, large (about 2M SSO events over 30 days) and xlarge (10x large).
    pub fn preset(name: &str) -> Option<OrgSize> {
        let size = |users, apps, groups, days, rate| OrgSize {
            users,
            apps,
            groups,
            days,
            signins_per_user_day: rate,
        };
        match name {
            "small" => Some(size(300, 25, 12, 35, 2.0)),
            "medium" => Some(size(5_000, 200, 60, 35, 2.0)),
            "large" => Some(size(50_000, 1_000, 400, 31, 2.4)),
            "xlarge" => Some(size(500_000, 10_000, 4_000, 31, 2.4)),
            _ => None,
        }
    }
}

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
    /// Users who can complete a sign-in to an app.
    fn signs_in(self) -> bool {
        matches!(
            self,
            UserStatus::Active | UserStatus::PasswordExpired | UserStatus::Recovery
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
        }
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
            SignOnMode::AutoLogin | SignOnMode::Saml11 | SignOnMode::Saml20 => None,
        }
    }
}

pub struct App {
    pub id: String,
    pub name: String,
    pub label: String,
    pub active: bool,
    pub sign_on_mode: SignOnMode,
    pub created: DateTime<Utc>,
    /// Groups assigned to the app.
    pub groups: Vec<u32>,
}

/// One row of an app's user list.
#[derive(Clone, Copy, Debug)]
pub struct Assignment {
    pub user: u32,
    /// Assigned directly (scope USER) rather than only through a group (scope GROUP).
    pub direct: bool,
}

pub struct Org {
    pub seed: u64,
    pub size: OrgSize,
    /// The simulator's start: System Log history ends here.
    pub anchor: DateTime<Utc>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub apps: Vec<App>,
    /// Per app, its assigned users sorted by user index (DEPROVISIONED users hold no assignments).
    pub assignments: Vec<Vec<Assignment>>,
    /// Per app, the assigned users who actually sign in to it (a subset: unused licences exist).
    pub pools: Vec<Vec<u32>>,
    /// The service account that owns the API tokens (GET /api/v1/users/me).
    pub admin: User,
    app_by_id: HashMap<String, u32>,
}

const FIRST_NAMES: [&str; 24] = [
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jon", "Kira", "Liam",
    "Maya", "Nils", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Vik", "Wen", "Zoe",
];
const LAST_NAMES: [&str; 20] = [
    "Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lopez", "Moreau", "Nguyen", "Okafor", "Patel", "Rossi", "Silva", "Tanaka",
    "Weber",
];
const DEPARTMENTS: [&str; 10] = [
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

/// Well-known SaaS apps (name, label, sign-on mode), most widely assigned first; one of each mode early on.
const CATALOG: [(&str, &str, SignOnMode); 30] = [
    ("google", "Google Workspace", SignOnMode::Saml20),
    ("slack", "Slack", SignOnMode::Saml20),
    ("zoomus", "Zoom", SignOnMode::Saml20),
    (
        "office365",
        "Microsoft Office 365",
        SignOnMode::WsFederation,
    ),
    ("atlassian", "Atlassian Cloud", SignOnMode::Saml20),
    ("salesforce", "Salesforce", SignOnMode::Saml20),
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
    (
        "dropbox_for_business",
        "Dropbox Business",
        SignOnMode::Saml20,
    ),
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

impl Org {
    pub fn generate(seed: u64, size: OrgSize, anchor: DateTime<Utc>) -> Org {
        let users = generate_users(seed, &size, anchor);
        let groups = generate_groups(seed, &size, &users, anchor);
        let mut apps = generate_apps(seed, &size, anchor);
        let assignments = assign(seed, &size, &users, &groups, &mut apps);
        let pools = pick_pools(seed, &users, &apps, &assignments);
        let app_by_id = apps
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i as u32))
            .collect();
        let admin = User {
            id: okta_id("00u", seed, TAG_ADMIN, 0),
            first: "DTI",
            last: "Service Account",
            login: "dti-service@acme.example".into(),
            status: UserStatus::Active,
            created: anchor - Duration::days(400),
            department: 0,
        };
        Org {
            seed,
            size,
            anchor,
            users,
            groups,
            apps,
            assignments,
            pools,
            admin,
            app_by_id,
        }
    }

    pub fn app_index(&self, id: &str) -> Option<usize> {
        self.app_by_id.get(id).map(|&i| i as usize)
    }

    pub fn department(&self, user: &User) -> &'static str {
        DEPARTMENTS[user.department as usize % DEPARTMENTS.len()]
    }
}

fn generate_users(seed: u64, size: &OrgSize, anchor: DateTime<Utc>) -> Vec<User> {
    (0..size.users)
        .map(|i| {
            let mut d = Draws::new(seed, TAG_USER, i as u64);
            let first = FIRST_NAMES[d.below(FIRST_NAMES.len() as u64) as usize];
            let last = LAST_NAMES[d.below(LAST_NAMES.len() as u64) as usize];
            let roll = d.unit();
            // Workforce mix: mostly ACTIVE, with leavers, suspensions and not-yet-activated hires.
            let status = match roll {
                r if r < 0.05 => UserStatus::Deprovisioned,
                r if r < 0.07 => UserStatus::Suspended,
                r if r < 0.09 => UserStatus::Staged,
                r if r < 0.10 => UserStatus::Provisioned,
                r if r < 0.105 => UserStatus::LockedOut,
                r if r < 0.11 => UserStatus::PasswordExpired,
                r if r < 0.115 => UserStatus::Recovery,
                _ => UserStatus::Active,
            };
            User {
                id: okta_id("00u", seed, TAG_USER, i as u64),
                first,
                last,
                login: format!(
                    "{}.{}{}@acme.example",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    i
                ),
                status,
                created: anchor - Duration::days(100 + d.below(1500) as i64),
                department: d.below(DEPARTMENTS.len() as u64) as u16,
            }
        })
        .collect()
}

fn generate_groups(seed: u64, size: &OrgSize, users: &[User], anchor: DateTime<Utc>) -> Vec<Group> {
    let count = size.groups.max(1);
    let mut groups: Vec<Group> = (0..count)
        .map(|g| {
            let (name, description) = match g {
                0 => ("Everyone".to_string(), "All users in the org".to_string()),
                g if (g as usize) <= DEPARTMENTS.len() => {
                    let dept = DEPARTMENTS[g as usize - 1];
                    (dept.to_string(), format!("Members of {dept}"))
                }
                g => (
                    format!("Project Team {g}"),
                    "Cross-functional project team".into(),
                ),
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
    let project_groups = count.saturating_sub(1 + DEPARTMENTS.len() as u32);
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
                let g = 1 + DEPARTMENTS.len() + d.below(project_groups as u64) as usize;
                groups[g].members.push(i as u32);
            }
        }
    }
    groups
}

fn generate_apps(seed: u64, size: &OrgSize, anchor: DateTime<Utc>) -> Vec<App> {
    (0..size.apps)
        .map(|a| {
            let mut d = Draws::new(seed, TAG_APP, a as u64);
            let (base_name, label, mode) = match CATALOG.get(a as usize) {
                Some(&(name, label, mode)) => (name.to_string(), label.to_string(), mode),
                None => {
                    let mode = SignOnMode::ALL[d.below(SignOnMode::ALL.len() as u64) as usize];
                    (format!("acme_app_{a}"), format!("Acme App {a}"), mode)
                }
            };
            let name = mode
                .template_name()
                .map(str::to_string)
                .unwrap_or(base_name);
            // A few apps were switched off; never the org's core tools.
            let active = a < 5 || !d.chance(0.08);
            App {
                id: okta_id("0oa", seed, TAG_APP, a as u64),
                name,
                label,
                active,
                sign_on_mode: mode,
                created: anchor - Duration::days(30 + d.below(1000) as i64),
                groups: Vec::new(),
            }
        })
        .collect()
}

/// Assigns users to apps: app rank r reaches about 0.9 / r^0.8 of the workforce (a long tail), through the
/// Everyone group, department groups and direct assignments.
fn assign(
    seed: u64,
    size: &OrgSize,
    users: &[User],
    groups: &[Group],
    apps: &mut [App],
) -> Vec<Vec<Assignment>> {
    let mut all = Vec::with_capacity(apps.len());
    for (a, app) in apps.iter_mut().enumerate() {
        let mut d = Draws::new(seed, TAG_ASSIGN, a as u64);
        let reach = (0.9 / ((a + 1) as f64).powf(0.8)).min(1.0);
        let mut assigned: HashMap<u32, bool> = HashMap::new();
        if a < 3 {
            app.groups.push(0);
        } else if reach > 0.15 && groups.len() > 1 && d.chance(0.6) {
            let g = 1 + d.below((groups.len() - 1).min(DEPARTMENTS.len()) as u64) as u32;
            app.groups.push(g);
        }
        for &g in &app.groups {
            for &u in &groups[g as usize].members {
                assigned.entry(u).or_insert(false);
            }
        }
        // Direct assignments: sampled draws, so the cost follows assignments rather than users x apps.
        let direct_share = if app.groups.is_empty() {
            reach
        } else {
            reach * 0.1
        };
        let draws = (direct_share * users.len() as f64).round() as u64;
        for _ in 0..draws {
            let u = d.below(users.len() as u64) as u32;
            if users[u as usize].status != UserStatus::Deprovisioned {
                assigned.insert(u, true);
            }
        }
        // Every app but the last has someone; the last stays unassigned on purpose (an edge case worth serving).
        if assigned.is_empty()
            && a + 1 < size.apps as usize
            && let Some(u) = users
                .iter()
                .position(|u| u.status != UserStatus::Deprovisioned)
        {
            assigned.insert(u as u32, true);
        }
        if a + 1 == size.apps as usize && size.apps > 3 {
            assigned.clear();
            app.groups.clear();
        }
        let mut rows: Vec<Assignment> = assigned
            .into_iter()
            .map(|(user, direct)| Assignment { user, direct })
            .collect();
        rows.sort_by_key(|r| r.user);
        all.push(rows);
    }
    all
}

/// Chooses who signs in to each app: its adoption share of assigned users who can sign in. About one ACTIVE
/// app in ten has no adoption at all (an unused app), and INACTIVE apps cannot be signed in to.
fn pick_pools(
    seed: u64,
    users: &[User],
    apps: &[App],
    assignments: &[Vec<Assignment>],
) -> Vec<Vec<u32>> {
    apps.iter()
        .enumerate()
        .map(|(a, app)| {
            let mut d = Draws::new(seed, TAG_POOL, a as u64);
            let adoption = if !app.active || (a >= 5 && d.chance(0.1)) {
                0.0
            } else {
                0.25 + 0.7 * d.unit()
            };
            let threshold = (adoption * u64::MAX as f64) as u64;
            assignments[a]
                .iter()
                .filter(|row| users[row.user as usize].status.signs_in())
                .filter(|row| hash3(seed ^ (a as u64) << 20, TAG_POOL, row.user as u64) < threshold)
                .map(|row| row.user)
                .collect()
        })
        .collect()
}
