//! JSON shapes of Okta objects as the Management API returns them (Okta OpenAPI spec, release 2026.06.3:
//! User, Application and its signOnMode subtypes, AppUser, Group, LogEvent).

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use serde_json::{Value, json};

use super::events::{Event, EventKind};
use super::org::{App, Assignment, Group, Org, SignOnMode, User, UserStatus};
use super::rng::uuid;

/// Okta's timestamp format: UTC with milliseconds, e.g. 2026-11-28T12:00:00.000Z.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn timestamp_ms(ms: i64) -> String {
    timestamp(Utc.timestamp_millis_opt(ms).single().unwrap_or_default())
}

pub fn user(base: &str, u: &User) -> Value {
    let activated = (u.status != UserStatus::Staged).then(|| timestamp(u.created + Duration::hours(1)));
    let status_changed = timestamp(u.created + Duration::days(7));
    let mut profile = json!({
        "firstName": u.first,
        "lastName": u.last,
        "mobilePhone": null,
        "secondEmail": null,
        "login": u.login,
        "email": u.login,
        // UserProfile in Okta's spec: costCenter is nullable, department is not (absent when unset);
        // a custom attribute sits beside them (additionalProperties), absent when unset.
        "costCenter": u.profile.cost_center,
    });
    for (name, value) in [("department", &u.profile.department), ("workLocation", &u.profile.work_location)] {
        if let Some(v) = value {
            profile[name] = Value::from(v.as_str());
        }
    }
    json!({
        "id": u.id,
        "status": u.status.as_str(),
        "created": timestamp(u.created),
        "activated": activated,
        "statusChanged": status_changed,
        "lastLogin": (u.status == UserStatus::Active).then(|| timestamp(u.created + Duration::days(60))),
        "lastUpdated": status_changed,
        "passwordChanged": timestamp(u.created + Duration::days(30)),
        "type": {"id": "oty1a2b3c4d5e6f7g8h9"},
        "profile": profile,
        "credentials": {
            "password": {},
            "provider": {"type": "OKTA", "name": "OKTA"},
        },
        "_links": {"self": {"href": format!("{base}/api/v1/users/{}", u.id)}},
    })
}

/// Every app's settings, with the sign-on mode's own fields over them.
fn common(extra: Value) -> Value {
    let mut settings = json!({
        "app": {},
        "notifications": {"vpn": {"network": {"connection": "DISABLED"}}},
        "manualProvisioning": false,
        "implicitAssignment": false,
    });
    if let (Some(target), Some(source)) = (settings.as_object_mut(), extra.as_object()) {
        for (k, v) in source {
            target.insert(k.clone(), v.clone());
        }
    }
    settings
}

/// A SAML 2.0 app's signOn settings (SamlApplicationSettingsSignOn in the spec).
fn saml_sign_on(slug: &str) -> Value {
    json!({"signOn": {
        "ssoAcsUrl": format!("https://{slug}.example.com/saml/acs"),
        "recipient": format!("https://{slug}.example.com/saml/acs"), "destination": format!("https://{slug}.example.com/saml/acs"),
        "audience": format!("https://{slug}.example.com"), "idpIssuer": "http://www.okta.com/${org.externalKey}",
        "subjectNameIdTemplate": "${user.userName}", "subjectNameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "responseSigned": true, "assertionSigned": true, "signatureAlgorithm": "RSA_SHA256", "digestAlgorithm": "SHA256",
        "honorForceAuthn": true, "authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
        "requestCompressed": false, "allowMultipleAcsEndpoints": false, "acsEndpoints": [], "attributeStatements": []
    }})
}

fn app_settings(app: &App, slug: &str) -> Value {
    let url = format!("https://{slug}.example.com/login");
    match app.sign_on_mode {
        SignOnMode::Saml20 => common(saml_sign_on(slug)),
        SignOnMode::Saml11 => common(json!({"app": {}, "signOn": {}})),
        // A service client has no redirect URIs and only the client_credentials grant (Okta: client
        // credentials flow); an app's application_type says which (ApplicationType in the spec).
        SignOnMode::OpenIdConnect if app.application_type == Some("service") => common(json!({"oauthClient": {
            "response_types": ["token"], "grant_types": ["client_credentials"],
            "application_type": "service", "consent_method": "REQUIRED", "issuer_mode": "DYNAMIC"
        }})),
        SignOnMode::OpenIdConnect => common(json!({"oauthClient": {
            "client_uri": format!("https://{slug}.example.com"),
            "redirect_uris": [format!("https://{slug}.example.com/callback")], "post_logout_redirect_uris": [],
            "response_types": ["code"], "grant_types": ["authorization_code", "refresh_token"],
            "application_type": app.application_type.unwrap_or("web"), "consent_method": "REQUIRED", "issuer_mode": "DYNAMIC",
            "initiate_login_uri": format!("https://{slug}.example.com/login")
        }})),
        SignOnMode::Radius => common(json!({"app": {"radiusPort": 1812, "sharedSecret": null}})),
        SignOnMode::BrowserPlugin => common(json!({"app": {
            "buttonField": "btn-login", "passwordField": "txtbox-password", "usernameField": "txtbox-username",
            "url": url
        }})),
        SignOnMode::Bookmark => {
            common(json!({"app": {"requestIntegration": false, "url": format!("https://{slug}.example.com/")}}))
        }
        SignOnMode::AutoLogin => common(json!({"signOn": {"loginUrl": url}})),
        SignOnMode::SecurePasswordStore => common(json!({"app": {
            "url": url, "passwordField": "#password", "usernameField": "#username"
        }})),
        SignOnMode::WsFederation => common(json!({"app": {
            "audienceRestriction": format!("urn:{slug}:federation"), "authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
            "groupValueFormat": "windowsDomainQualifiedName",
            "nameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified", "realm": format!("urn:{slug}"),
            "siteURL": format!("https://{slug}.example.com"), "usernameAttribute": "username",
            "wReplyOverride": false, "wReplyURL": format!("https://{slug}.example.com/wsfed")
        }})),
        SignOnMode::BasicAuth => {
            common(json!({"app": {"url": url, "authURL": format!("https://{slug}.example.com/auth")}}))
        }
    }
}

fn app_credentials(app: &App, slug: &str) -> Value {
    match app.sign_on_mode {
        SignOnMode::OpenIdConnect => json!({
            "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
            "signing": {"kid": "SIMULATEDKEYID"},
            "oauthClient": {"autoKeyRotation": true, "client_id": format!("0oa{slug}client"), "token_endpoint_auth_method": "client_secret_basic", "pkce_required": false}
        }),
        SignOnMode::BrowserPlugin
        | SignOnMode::SecurePasswordStore
        | SignOnMode::AutoLogin
        | SignOnMode::BasicAuth
        | SignOnMode::Radius => json!({
            "scheme": "EDIT_USERNAME_AND_PASSWORD",
            "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
            "revealPassword": false,
            "signing": {}
        }),
        _ => json!({
            "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
            "signing": {"kid": "SIMULATEDKEYID"}
        }),
    }
}

pub fn app(base: &str, app: &App) -> Value {
    let slug = app.label.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "");
    let id = &app.id;
    json!({
        "id": id,
        "orn": format!("orn:okta:idp:simulated:apps:{}:{id}", app.name),
        "name": app.name,
        "label": app.label,
        "status": if app.active { "ACTIVE" } else { "INACTIVE" },
        "lastUpdated": timestamp(app.created + Duration::days(3)),
        "created": timestamp(app.created),
        "accessibility": {"selfService": false},
        "visibility": {"autoSubmitToolbar": false, "hide": {"iOS": false, "web": false}, "appLinks": {"login": true}},
        "features": [],
        "signOnMode": app.sign_on_mode.as_str(),
        "credentials": app_credentials(app, &slug),
        "settings": app_settings(app, &slug),
        "_links": {
            "self": {"href": format!("{base}/api/v1/apps/{id}")},
            "users": {"href": format!("{base}/api/v1/apps/{id}/users")},
            "groups": {"href": format!("{base}/api/v1/apps/{id}/groups")},
            "deactivate": {"href": format!("{base}/api/v1/apps/{id}/lifecycle/deactivate")},
        },
    })
}

pub fn app_user(base: &str, app: &App, row: &Assignment, u: &User) -> Value {
    let assigned = timestamp(row.assigned);
    let mut v = json!({
        "id": u.id,
        "created": assigned,
        "lastUpdated": assigned,
        "scope": if row.direct { "USER" } else { "GROUP" },
        "status": row.status.as_str(),
        "statusChanged": assigned,
        "passwordChanged": null,
        "syncState": "DISABLED",
        "credentials": {"userName": u.login},
        "profile": {},
        "_links": {
            "app": {"href": format!("{base}/api/v1/apps/{}", app.id)},
            "user": {"href": format!("{base}/api/v1/users/{}", u.id)},
        },
    });
    // The spec's AppUser.externalId is a non-nullable string: present once the app has an account id.
    if row.status.holds_seat() {
        v["externalId"] = json!(format!("ext-{}", &u.id[3..]));
    }
    v
}

/// An app's group assignment (ApplicationGroupAssignment).
pub fn app_group(base: &str, app: &App, g: &Group, priority: usize) -> Value {
    json!({
        "id": g.id,
        "lastUpdated": timestamp(g.created),
        "priority": priority,
        "profile": {},
        "_links": {
            "app": {"href": format!("{base}/api/v1/apps/{}", app.id)},
            "group": {"href": format!("{base}/api/v1/groups/{}", g.id)},
        },
    })
}

pub fn group(base: &str, g: &Group, everyone: bool) -> Value {
    json!({
        "id": g.id,
        "created": timestamp(g.created),
        "lastUpdated": timestamp(g.created),
        "lastMembershipUpdated": timestamp(g.created + Duration::days(1)),
        "objectClass": ["okta:user_group"],
        "type": if everyone { "BUILT_IN" } else { "OKTA_GROUP" },
        "profile": {"name": g.name, "description": g.description},
        "_links": {
            "users": {"href": format!("{base}/api/v1/groups/{}/users", g.id)},
            "apps": {"href": format!("{base}/api/v1/groups/{}/apps", g.id)},
        },
    })
}

fn user_json(u: &User) -> Value {
    json!({"id": u.id, "type": "User", "alternateId": u.login, "displayName": format!("{} {}", u.first, u.last)})
}

fn app_json(app: &App) -> Value {
    json!({"id": app.id, "type": "AppInstance", "alternateId": app.label, "displayName": app.label,
        "detailEntry": {"signOnModeType": app.sign_on_mode.as_str()}})
}

/// Targets as Okta records them (System Log API: target[], found by type, not position).
fn targets(org: &Org, e: &Event, user: &User) -> Vec<Value> {
    let app = &org.apps[e.app as usize];
    let group = org.groups.get(e.group as usize);
    let group_json =
        || group.map(|g| json!({"id": g.id, "type": "UserGroup", "alternateId": "unknown", "displayName": g.name}));
    let app_user = json!({"id": format!("0ua{}", &user.id[3..]), "type": "AppUser", "alternateId": user.login, "displayName": format!("{} {}", user.first, user.last)});
    match e.kind {
        k if k.is_sign_in() || matches!(k, EventKind::UnauthAccess | EventKind::PolicyEvaluate) => {
            if e.app_user_first {
                vec![app_user, app_json(app)]
            } else {
                vec![app_json(app), app_user]
            }
        }
        EventKind::MfaVerify | EventKind::SessionStart => vec![],
        EventKind::ServiceToken => vec![
            json!({"id": format!("AT.{}", e.transaction % 100_000_000), "type": "access_token", "alternateId": "unknown", "displayName": "Access Token"}),
        ],
        EventKind::AppUserAdd | EventKind::AppUserRemove | EventKind::AppUserUpdate => {
            vec![app_user, app_json(app), user_json(user)]
        }
        EventKind::GroupMemberAdd | EventKind::GroupMemberRemove => {
            [Some(user_json(user)), group_json()].into_iter().flatten().collect()
        }
        EventKind::GroupAppAdd | EventKind::GroupAppRemove => {
            [Some(app_json(app)), group_json()].into_iter().flatten().collect()
        }
        EventKind::AppCreate | EventKind::AppActivate | EventKind::AppDeactivate | EventKind::AppDelete => {
            vec![app_json(app)]
        }
        _ => vec![user_json(user)],
    }
}

/// The actor: the user signing in, the admin making a change, or a service client itself.
fn actor(org: &Org, e: &Event, user: &User) -> Value {
    if e.kind == EventKind::ServiceToken {
        let app = &org.apps[e.app as usize];
        return json!({"id": app.id, "type": "PublicClientApp", "alternateId": app.id, "displayName": app.label});
    }
    let who = if e.kind.user_actor() { user } else { &org.admin };
    user_json(who)
}

pub fn log_event(org: &Org, e: &Event) -> Value {
    let user = org.users.get(e.user as usize).unwrap_or(&org.admin);
    let app = &org.apps[e.app as usize];
    let (event_type, message) = e.kind.names();
    let outcome = if e.success {
        json!({"result": "SUCCESS"})
    } else {
        json!({"result": "FAILURE", "reason": "INVALID_CREDENTIALS"})
    };
    let ip = format!("198.51.100.{}", e.user % 250 + 1);
    let mut event = json!({
        "uuid": uuid(org.seed, 12, e.index),
        "published": timestamp_ms(e.published_ms),
        "eventType": event_type,
        "version": "0",
        "severity": if e.success { "INFO" } else { "WARN" },
        "displayMessage": message,
        "actor": actor(org, e, user),
        "client": {
            "userAgent": {"rawUserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "os": "Mac OS X", "browser": "SAFARI"},
            "zone": "null",
            "device": "Computer",
            "ipAddress": ip,
            "geographicalContext": {"city": "Berlin", "state": "Land Berlin", "country": "Germany", "postalCode": "10115", "geolocation": {"lat": 52.52, "lon": 13.405}}
        },
        "device": null,
        "authenticationContext": {
            "authenticationStep": 0,
            "externalSessionId": format!("102{}", &uuid(org.seed, 13, e.user as u64)[..20].replace('-', "")),
        },
        "outcome": outcome,
        "securityContext": {"asNumber": null, "asOrg": null, "isp": null, "domain": null, "isProxy": null},
        "debugContext": {"debugData": {"requestId": uuid(org.seed, 14, e.index), "requestUri": format!("/app/{}/{}/sso/saml", app.name, app.id)}},
        "transaction": {"type": "WEB", "id": uuid(org.seed, 15, e.transaction), "detail": {}},
        "request": {"ipChain": [{"ip": ip, "version": "V4"}]},
        "target": targets(org, e, user),
    });
    if e.kind == EventKind::Sso {
        event["legacyEventType"] = Value::from("app.auth.sso");
    }
    // Real events carry fields the spec does not describe (the spec lags reality: shared/okta-openapi
    // /SOURCE.md); a client must ignore what it does not know.
    if e.index % 97 == 5 {
        event["debugContext"]["debugData"]["threatSuspected"] = Value::from("false");
        event["x-okta-internal"] = json!({"cell": "ok12"});
    }
    event
}
