//! The read permissions an integration needs, named as the setup guide and Okta name them: a leaf that
//! the access check, the failure classification and the listings all refer to.

/// A read permission the integration needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Need {
    Users,
    Applications,
    SystemLog,
    /// Only with spec.reclaim.exemptGroups: their members are listed (not in the access check's three).
    Groups,
}

impl Need {
    pub(crate) const ALL: [Need; 3] = [Need::Users, Need::Applications, Need::SystemLog];
    /// The permission's name in the setup guide and the Okta Admin Console.
    pub(crate) fn guide_name(self) -> &'static str {
        match self {
            Need::Users => "View users",
            Need::Applications => "View applications",
            Need::SystemLog => "View System Log",
            Need::Groups => "View groups",
        }
    }
    /// The OAuth 2.0 scope that grants it (developer.okta.com: OAuth 2.0 scopes for Okta APIs).
    pub(crate) fn scope(self) -> &'static str {
        match self {
            Need::Users => "okta.users.read",
            Need::Applications => "okta.apps.read",
            Need::SystemLog => "okta.logs.read",
            Need::Groups => "okta.groups.read",
        }
    }
    pub(super) fn probe(self) -> &'static str {
        match self {
            Need::Users => "/api/v1/users?limit=1",
            Need::Applications => "/api/v1/apps?limit=1",
            Need::SystemLog => "/api/v1/logs?limit=1",
            Need::Groups => "/api/v1/groups?limit=1",
        }
    }
}
