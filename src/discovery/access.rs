//! The access check: one request each to users, apps and the System Log (limit 1), reported in the setup
//! guide's terms: "View users", "View applications", "View System Log".

use crate::okta::{OktaClient, OktaError};

/// A read permission the integration needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Users,
    Applications,
    SystemLog,
}

impl Need {
    pub const ALL: [Need; 3] = [Need::Users, Need::Applications, Need::SystemLog];
    /// The permission's name in the setup guide and the Okta Admin Console.
    pub fn guide_name(self) -> &'static str {
        match self {
            Need::Users => "View users",
            Need::Applications => "View applications",
            Need::SystemLog => "View System Log",
        }
    }
    fn probe(self) -> &'static str {
        match self {
            Need::Users => "/api/v1/users?limit=1",
            Need::Applications => "/api/v1/apps?limit=1",
            Need::SystemLog => "/api/v1/logs?limit=1",
        }
    }
}

#[derive(Debug)]
pub enum Access {
    Granted,
    /// Okta answered 403 (E0000006): the token's admin lacks this permission.
    Denied(OktaError),
}

#[derive(Debug)]
pub struct AccessReport {
    pub users: Access,
    pub applications: Access,
    pub system_log: Access,
}

impl AccessReport {
    pub fn get(&self, need: Need) -> &Access {
        match need {
            Need::Users => &self.users,
            Need::Applications => &self.applications,
            Need::SystemLog => &self.system_log,
        }
    }
    pub fn denied(&self) -> Vec<Need> {
        Need::ALL
            .into_iter()
            .filter(|n| matches!(self.get(*n), Access::Denied(_)))
            .collect()
    }
    pub fn all_granted(&self) -> bool {
        self.denied().is_empty()
    }
}

async fn probe(client: &OktaClient, need: Need) -> Result<Access, OktaError> {
    let url = client.url(need.probe());
    match client.get_page::<Vec<serde::de::IgnoredAny>>(&url).await {
        Ok(_) => Ok(Access::Granted),
        Err(e) if e.is_permission_denied() && !e.is_invalid_token() => Ok(Access::Denied(e)),
        Err(e) => Err(e),
    }
}

/// Checks the three permissions concurrently. An invalid token or an unreachable org is an error; a
/// missing permission is a finding.
pub async fn check_access(client: &OktaClient) -> Result<AccessReport, OktaError> {
    let (users, applications, system_log) = tokio::try_join!(
        probe(client, Need::Users),
        probe(client, Need::Applications),
        probe(client, Need::SystemLog)
    )?;
    Ok(AccessReport {
        users,
        applications,
        system_log,
    })
}
