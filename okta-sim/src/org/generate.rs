//! An org from a seed: users, groups, apps (Okta's own, the organization's, service clients, deleted ones),
//! assignments and who signs in, all deterministic.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::rng::{Draws, hash3, okta_id};

const FIRST_NAMES: [&str; 24] = [
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jon", "Kira", "Liam", "Maya", "Nils",
    "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Vik", "Wen", "Zoe",
];
const LAST_NAMES: [&str; 20] = [
    "Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski", "Lopez",
    "Moreau", "Nguyen", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Weber",
];
const DEPARTMENTS: usize = 10;
/// A workforce's departments are uneven: a few large ones and a tail (percent of users, Engineering
/// first, as DEPARTMENT_NAMES orders them).
const DEPARTMENT_SHARE: [f64; DEPARTMENTS] = [0.30, 0.22, 0.14, 0.09, 0.07, 0.05, 0.04, 0.04, 0.03, 0.02];
pub const DEPARTMENT_NAMES: [&str; DEPARTMENTS] =
    ["Engineering", "Sales", "Marketing", "Finance", "Support", "People", "Legal", "Operations", "Product", "Design"];
/// Work locations (a custom attribute), most common first; São Paulo keeps a non-ASCII value in play.
const LOCATIONS: [&str; 9] =
    ["Remote", "New York", "London", "Berlin", "Singapore", "São Paulo", "Toronto", "Sydney", "Reykjavík"];

/// Okta's own apps as a new org's `/api/v1/apps` lists them (name, label): a public API listing of a
/// fresh oktapreview org shows these, all ACTIVE, OPENID_CONNECT; terraformer's Okta provider skips the
/// first three (GoogleCloudPlatform/terraformer providers/okta/app.go).
const OKTA_OWN_APPS: [(&str, &str); 11] = [
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
/// The service clients come in the app list after these SaaS apps (by rank), one each.
const SERVICE_CLIENTS_AFTER: [u32; SERVICE_CLIENTS.len()] = [3, 12, 20];
/// Apps listed before this position (Okta's own, the four most used SaaS apps and the first service client)
/// are always used; later SaaS apps go unused one time in ten.
const ALWAYS_USED: usize = OKTA_OWN_APPS.len() + 5;

impl Org {
    pub fn generate(seed: u64, size: OrgSize, anchor: DateTime<Utc>) -> Org {
        let users = generate_users(seed, &size, anchor);
        let groups = generate_groups(seed, &size, &users, anchor);
        let mut apps = generate_apps(seed, &size, anchor);
        let assignments = assign(seed, &size, &users, &groups, &mut apps, anchor);
        let pools = pick_pools(seed, &users, &apps, &assignments);
        let admin = User {
            id: okta_id("00u", seed, TAG_ADMIN, 0),
            first: "DTI",
            last: "Service Account",
            login: "dti-service@acme.example".into(),
            status: UserStatus::Active,
            created: anchor - Duration::days(400),
            department: 0,
            profile: Profile::default(),
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
}

fn generate_users(seed: u64, size: &OrgSize, anchor: DateTime<Utc>) -> Vec<User> {
    let mut users: Vec<User> = (0..size.users)
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
                department: skewed(d.unit(), &DEPARTMENT_SHARE) as u16,
                profile: Profile::default(),
            }
        })
        .collect();
    for (i, u) in users.iter_mut().enumerate() {
        u.profile = profile_of(seed, i as u64, u.department);
    }
    users
}

/// The index a uniform `roll` falls on when each index has its `share` (the last takes what is left).
fn skewed(roll: f64, share: &[f64]) -> usize {
    let mut sum = 0.0;
    share
        .iter()
        .position(|s| {
            sum += s;
            roll < sum
        })
        .unwrap_or(share.len() - 1)
}

/// A user's department, cost center and work location: 4% have no department, 3% no cost center, 10%
/// no location. Cost centers follow the department (a few per department, the first the largest) with
/// a long tail of 1 in 12 charged elsewhere. Its own draws, so the rest of the org is unchanged by it.
fn profile_of(seed: u64, i: u64, department: u16) -> Profile {
    let mut d = Draws::new(seed, TAG_USER ^ 0x9f, i);
    let department_name = (!d.chance(0.04)).then(|| DEPARTMENT_NAMES[department as usize].to_string());
    let cost_center = (!d.chance(0.03)).then(|| {
        let sub = skewed(d.unit(), &[0.6, 0.25, 0.1, 0.05]);
        if d.chance(1.0 / 12.0) {
            format!("CC-{:04}", 9000 + d.below(400))
        } else {
            format!("CC-{}{:02}", department + 1, sub)
        }
    });
    let location = (!d.chance(0.10))
        .then(|| LOCATIONS[skewed(d.unit(), &[0.35, 0.2, 0.15, 0.1, 0.07, 0.05, 0.04, 0.03, 0.01])].to_string());
    Profile { department: department_name, cost_center, work_location: location }
}

fn generate_groups(seed: u64, size: &OrgSize, users: &[User], anchor: DateTime<Utc>) -> Vec<Group> {
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
        if let Some(i) = SERVICE_CLIENTS_AFTER.iter().position(|&x| x == a) {
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

/// When a row was assigned: two days after the app and the user both existed, except for about one row
/// in eight, assigned in the last 75 days (recent hires and roll-outs: seats too new to call unused).
fn assigned_at(seed: u64, a: usize, app: &App, index: u32, user: &User, anchor: DateTime<Utc>) -> DateTime<Utc> {
    let roll = hash3(seed ^ a as u64, TAG_STATUS ^ 0xa55, u64::from(index));
    if roll.is_multiple_of(8) {
        (anchor - Duration::seconds((roll >> 8) as i64 % (75 * 86_400))).max(app.created)
    } else {
        app.created.max(user.created) + Duration::days(2)
    }
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

/// An app's rows: a GROUP row for each member of its groups, then sampled direct assignments (so the cost
/// follows assignments rather than users x apps), each timed at the app's creation for now.
fn grant(
    seed: u64,
    a: usize,
    app: &App,
    reach: f64,
    d: &mut Draws,
    users: &[User],
    groups: &[Group],
) -> HashMap<u32, Assignment> {
    let when = app.created;
    let mut assigned: HashMap<u32, Assignment> = HashMap::new();
    for &g in &app.groups {
        for &u in &groups[g as usize].members {
            let row = Assignment { user: u, direct: false, status: AppUserStatus::Active, assigned: when };
            assigned.entry(u).or_insert(row);
        }
    }
    let direct_share = if app.groups.is_empty() { reach } else { reach * 0.1 };
    let draws = (direct_share * users.len() as f64).round() as u64;
    for _ in 0..draws {
        let u = d.below(users.len().max(1) as u64) as u32;
        // Leavers mostly lose their assignments; some are still assigned (seats to reclaim).
        if users[u as usize].status == UserStatus::Deprovisioned && !d.chance(0.3) {
            continue;
        }
        assigned.insert(u, Assignment { user: u, direct: true, status: row_status(seed, a, u), assigned: when });
    }
    assigned
}

fn assign(
    seed: u64,
    size: &OrgSize,
    users: &[User],
    groups: &[Group],
    apps: &mut [App],
    anchor: DateTime<Utc>,
) -> Vec<Vec<Assignment>> {
    let mut all = Vec::with_capacity(apps.len());
    let mut rank = 0usize;
    for (a, app) in apps.iter_mut().enumerate() {
        let when = app.created; // each row's time is set once the rows are known
        let mut d = Draws::new(seed, TAG_ASSIGN, a as u64);
        if app.kind == AppKind::Saas {
            rank += 1;
        }
        let Some(reach) = reach_of(app, rank, &mut d, groups.len(), users.len()) else {
            all.push(Vec::new()); // service clients: no assignments (client credentials, no people)
            continue;
        };
        let mut assigned = grant(seed, a, app, reach, &mut d, users, groups);
        let last_saas = app.kind == AppKind::Saas && rank == size.apps as usize && size.apps > 3;
        if assigned.is_empty()
            && app.kind == AppKind::Saas
            && !last_saas
            && let Some(u) = users.iter().position(|u| u.status != UserStatus::Deprovisioned)
        {
            assigned.insert(
                u as u32,
                Assignment { user: u as u32, direct: true, status: AppUserStatus::Active, assigned: when },
            );
        }
        // The last SaaS app stays unassigned on purpose (an edge case worth serving).
        if last_saas && !app.deleted {
            assigned.clear();
            app.groups.clear();
        }
        let mut rows: Vec<Assignment> = assigned.into_values().collect();
        rows.sort_by_key(|r| r.user);
        for row in &mut rows {
            row.assigned = assigned_at(seed, a, app, row.user, &users[row.user as usize], anchor);
        }
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
                AppKind::Saas if !app.active || (a >= ALWAYS_USED && d.chance(0.1)) => 0.0,
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
