//! What counts as one of the organization's SaaS apps. `/api/v1/apps` also lists Okta's own apps and
//! OAuth service clients; both are left out of the inventory (and of every count) unless asked for.

use serde::Deserialize;

use super::records::{Record, required};
use crate::text;

/// Okta's own apps by `name` (which Okta reserves: customers' apps get other names), in one place.
/// Sources: terraformer's Okta provider skips okta_enduser, okta_browser_plugin and saasure
/// (GoogleCloudPlatform/terraformer providers/okta/app.go); a public API listing of a new oktapreview
/// org shows all eleven below as the org's only apps; Okta's Workflows templates name okta_flow_sso.
pub(crate) const OKTA_OWN_APPS: [(&str, &str); 11] = [
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

/// Why an app is or is not part of the inventory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AppKind {
    /// One of the organization's apps.
    Saas,
    /// One of Okta's own apps ([`OKTA_OWN_APPS`]).
    OktaOwn,
    /// An OAuth 2.0 service client (`settings.oauthClient.application_type: "service"`): a machine
    /// identity with client credentials, no user assignments and no user sign-ins (Okta: OAuth 2.0
    /// client credentials flow; API service integrations are such clients too).
    ServiceClient,
}

impl AppKind {
    pub(crate) fn built_in(self) -> bool {
        self != AppKind::Saas
    }
}

/// An app as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AppRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) status: String,
    pub(crate) sign_on_mode: String,
    pub(crate) kind: AppKind,
}

#[derive(Deserialize)]
pub(crate) struct RawApp {
    id: Option<String>,
    name: Option<String>,
    label: Option<String>,
    status: Option<String>,
    #[serde(rename = "signOnMode")]
    sign_on_mode: Option<String>,
    settings: Option<RawSettings>,
}

#[derive(Deserialize)]
struct RawSettings {
    #[serde(rename = "oauthClient")]
    oauth_client: Option<RawOAuthClient>,
}

#[derive(Deserialize)]
struct RawOAuthClient {
    application_type: Option<String>,
}

/// The kind of an app from its name and OAuth settings.
pub(crate) fn kind_of(name: &str, application_type: Option<&str>) -> AppKind {
    if OKTA_OWN_APPS.iter().any(|(n, _)| *n == name) {
        AppKind::OktaOwn
    } else if application_type == Some("service") {
        AppKind::ServiceClient
    } else {
        AppKind::Saas
    }
}

/// Okta's object ids: letters, digits, `_` and `-`, at most 100 bytes (they go into URLs and object names).
pub(crate) fn valid_app_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 100 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl AppRecord {
    /// An app from its fields, checked and cleaned: the one rule for apps from Okta and from a checkpoint.
    /// An app needs an id, a name and a status; a missing label falls back to the name (a display field
    /// only), a missing sign-on mode to "UNKNOWN".
    pub(crate) fn checked(
        id: &str,
        name: &str,
        label: Option<&str>,
        status: &str,
        sign_on_mode: Option<&str>,
        application_type: Option<&str>,
    ) -> Result<AppRecord, &'static str> {
        if !valid_app_id(id) {
            return Err("an app id that is not an Okta id");
        }
        let name = text::field(name);
        let status = text::clean(status, 32);
        if name.is_empty() || status.is_empty() {
            return Err("an app without a name or a status");
        }
        let label = label.map(text::field).filter(|l| !l.is_empty()).unwrap_or_else(|| name.clone());
        Ok(AppRecord {
            id: id.to_string(),
            kind: kind_of(&name, application_type),
            label,
            status,
            sign_on_mode: text::clean(sign_on_mode.unwrap_or("UNKNOWN"), 64),
            name,
        })
    }
}

impl Record for RawApp {
    type Checked = AppRecord;

    fn check(self) -> Result<AppRecord, &'static str> {
        let id = required(&self.id, "an app without an id")?;
        let name = required(&self.name, "an app without a name")?;
        let status = required(&self.status, "an app without a status")?;
        let application_type =
            self.settings.as_ref().and_then(|s| s.oauth_client.as_ref()).and_then(|c| c.application_type.as_deref());
        AppRecord::checked(id, name, self.label.as_deref(), status, self.sign_on_mode.as_deref(), application_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Result<AppRecord, &'static str> {
        serde_json::from_str::<RawApp>(json).unwrap().check()
    }

    #[test]
    fn okta_apps_and_service_clients_are_told_apart() {
        let cases = [
            (
                r#"{"id":"0oa1","name":"okta_enduser","label":"Okta Dashboard","status":"ACTIVE","signOnMode":"OPENID_CONNECT"}"#,
                AppKind::OktaOwn,
            ),
            (r#"{"id":"0oa2","name":"saasure","label":"Okta Admin Console","status":"ACTIVE"}"#, AppKind::OktaOwn),
            (
                r#"{"id":"0oa3","name":"oidc_client","label":"Billing Bot","status":"ACTIVE","signOnMode":"OPENID_CONNECT","settings":{"oauthClient":{"application_type":"service","grant_types":["client_credentials"]}}}"#,
                AppKind::ServiceClient,
            ),
            (
                r#"{"id":"0oa4","name":"oidc_client","label":"Portal","status":"ACTIVE","settings":{"oauthClient":{"application_type":"web"}}}"#,
                AppKind::Saas,
            ),
            (
                r#"{"id":"0oa5","name":"salesforce","label":"Salesforce","status":"INACTIVE","settings":{"app":{}}}"#,
                AppKind::Saas,
            ),
        ];
        for (json, kind) in cases {
            assert_eq!(record(json).unwrap().kind, kind, "{json}");
        }
    }

    #[test]
    fn missing_fields() {
        let app = record(r#"{"id":"0oa1","name":"slack","label":null,"status":"ACTIVE","signOnMode":null}"#).unwrap();
        assert_eq!((app.label.as_str(), app.sign_on_mode.as_str()), ("slack", "UNKNOWN"));
        assert!(record(r#"{"id":null,"name":"slack","status":"ACTIVE"}"#).is_err());
        assert!(record(r#"{"id":"0oa1","name":"slack","status":null}"#).is_err());
        assert!(record(r#"{"id":"../../etc","name":"x","status":"ACTIVE"}"#).is_err());
        let hostile = record(&format!(
            r#"{{"id":"0oa1","name":"x","label":"\u001b[2J{}","status":"ACTIVE"}}"#,
            "A".repeat(10_000)
        ))
        .unwrap();
        assert!(hostile.label.len() <= 256 && !hostile.label.contains('\u{1b}'));
    }
}
