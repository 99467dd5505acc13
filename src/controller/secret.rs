//! Reading the API token from the referenced Secret (same namespace only).

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use super::state::AccessProblem;
use crate::crd::OktaIntegration;
use crate::okta::ApiToken;

/// The token, or the AccessValidated problem that explains why there is none.
pub async fn read_token(
    client: &Client,
    obj: &OktaIntegration,
    namespace: &str,
) -> Result<ApiToken, AccessProblem> {
    let Some(api_token) = obj.spec.credentials.api_token.as_ref() else {
        return Err(AccessProblem {
            reason: "SecretNotFound",
            message: "spec.credentials names no apiToken".into(),
            stalled: true,
        });
    };
    let reference = &api_token.secret_ref;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = match secrets.get_opt(&reference.name).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(AccessProblem {
                reason: "SecretNotFound",
                message: format!(
                    "Secret {namespace}/{} does not exist: create it with the API token under key {:?} (kubectl create secret generic {} --from-literal={}=<token>)",
                    reference.name, reference.key, reference.name, reference.key
                ),
                stalled: true,
            });
        }
        Err(e) => {
            return Err(AccessProblem {
                reason: "SecretNotFound",
                message: format!("cannot read Secret {namespace}/{}: {e}", reference.name),
                stalled: false,
            });
        }
    };
    let value = secret
        .data
        .as_ref()
        .and_then(|d| d.get(&reference.key))
        .map(|b| String::from_utf8_lossy(&b.0).into_owned());
    match value.as_deref().and_then(ApiToken::new) {
        Some(token) => Ok(token),
        None => {
            let keys: Vec<String> = secret
                .data
                .as_ref()
                .map(|d| d.keys().cloned().collect())
                .unwrap_or_default();
            Err(AccessProblem {
                reason: "SecretKeyMissing",
                message: format!(
                    "Secret {namespace}/{} has no non-empty key {:?} (it has: {}); set spec.credentials.apiToken.secretRef.key or add the key",
                    reference.name,
                    reference.key,
                    if keys.is_empty() {
                        "none".to_string()
                    } else {
                        keys.join(", ")
                    }
                ),
                stalled: true,
            })
        }
    }
}
