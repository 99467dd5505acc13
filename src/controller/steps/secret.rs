//! Step 1, read the Secret: the API token or the OAuth app's private key, from a Secret in the
//! integration's own namespace. Every way this can fail is a Problem with its own reason; the message
//! names the Secret and the key but never the Secret's other keys or any value.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use crate::controller::conditions::Reason;
use crate::controller::context::Context;
use crate::controller::state::Problem;
use crate::crd::OktaIntegration;
use crate::discovery::CredentialKind;
use crate::okta::oauth::{OAuthConfig, SigningKey, keys::ACCEPTED_FORMATS};
use crate::okta::{ApiToken, Fingerprint};

/// What the Secret holds, checked.
#[derive(Clone, Debug)]
pub(crate) enum Material {
    Token(ApiToken),
    OAuth(OAuthConfig),
}

/// Usable credentials and their fingerprint.
#[derive(Clone, Debug)]
pub(crate) struct Credentials {
    pub(crate) material: Material,
    pub(crate) fingerprint: Fingerprint,
    /// The Secret's resourceVersion as read.
    pub(crate) revision: Option<String>,
}

impl Credentials {
    pub(crate) fn kind(&self) -> CredentialKind {
        match self.material {
            Material::Token(_) => CredentialKind::ApiToken,
            Material::OAuth(_) => CredentialKind::OAuth,
        }
    }
}

/// Where to look: the Secret's name and key, and what the value must be.
fn reference(obj: &OktaIntegration) -> Option<(String, String, CredentialKind)> {
    let credentials = &obj.spec.credentials;
    if let Some(t) = &credentials.api_token {
        return Some((t.secret_ref.name.clone(), t.secret_ref.key.clone(), CredentialKind::ApiToken));
    }
    credentials
        .oauth
        .as_ref()
        .map(|o| (o.private_key.secret_ref.name.clone(), o.private_key.secret_ref.key.clone(), CredentialKind::OAuth))
}

/// The value's problem, when it is not usable as the kind of credential the spec asks for.
fn material(obj: &OktaIntegration, kind: CredentialKind, raw: &[u8], at: &str) -> Result<Credentials, Problem> {
    match kind {
        CredentialKind::ApiToken => {
            let token = ApiToken::parse(raw).map_err(|e| {
                Problem::new(
                    Reason::SecretValueInvalid,
                    format!("the value at {at} {e}: store the API token alone (kubectl create secret generic NAME --from-literal=token=<token>)"),
                )
            })?;
            Ok(Credentials { fingerprint: token.fingerprint(), material: Material::Token(token), revision: None })
        }
        CredentialKind::OAuth => {
            let key = SigningKey::parse(raw).map_err(|e| {
                Problem::new(Reason::PrivateKeyInvalid, format!("the value at {at} {e}: store {ACCEPTED_FORMATS}"))
            })?;
            let Some(oauth) = obj.spec.credentials.oauth.as_ref() else {
                return Err(Problem::new(Reason::PrivateKeyInvalid, "spec.credentials.oauth is not set"));
            };
            let scopes = oauth.scopes.join(" ");
            let key_id = oauth.key_id.clone().unwrap_or_default();
            Ok(Credentials {
                fingerprint: Fingerprint::of(&[
                    b"oauth",
                    oauth.client_id.as_bytes(),
                    key_id.as_bytes(),
                    scopes.as_bytes(),
                    raw,
                ]),
                material: Material::OAuth(OAuthConfig {
                    client_id: oauth.client_id.clone(),
                    key,
                    key_id: oauth.key_id.clone(),
                    scopes: oauth.scopes.clone(),
                }),
                revision: None,
            })
        }
    }
}

/// Reads and checks the credentials the spec names.
pub(crate) async fn read(ctx: &Context, obj: &OktaIntegration, namespace: &str) -> Result<Credentials, Problem> {
    let Some((name, key, kind)) = reference(obj) else {
        return Err(Problem::new(Reason::SecretNotFound, "spec.credentials names neither apiToken nor oauth"));
    };
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let secret = match secrets.get_opt(&name).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let what = if kind == CredentialKind::ApiToken { "the API token" } else { "the private key" };
            return Err(Problem::new(
                Reason::SecretNotFound,
                format!("Secret {namespace}/{name} does not exist: create it with {what} under key {key:?}"),
            ));
        }
        Err(e) => {
            return Err(Problem::new(
                Reason::SecretUnreadable,
                format!(
                    "cannot read Secret {namespace}/{name} ({e}); the operator retries (is the namespace watched, and may the operator's ServiceAccount get Secrets here?)"
                ),
            ));
        }
    };
    let at = format!("key {key:?} of Secret {namespace}/{name}");
    let value = secret
        .data
        .as_ref()
        .and_then(|d| d.get(&key))
        .map(|b| b.0.as_slice())
        .filter(|v| !v.iter().all(u8::is_ascii_whitespace));
    match value {
        Some(raw) => material(obj, kind, raw, &at)
            .map(|credentials| Credentials { revision: secret.metadata.resource_version.clone(), ..credentials }),
        None => Err(Problem::new(
            Reason::SecretKeyMissing,
            format!("{at} is missing or empty: add the key, or set the key spec.credentials names"),
        )),
    }
}
