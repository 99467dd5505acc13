//! The key that seals every checkpoint (HMAC-SHA256), kept in a Secret in the operator's own namespace:
//! made by the first replica that finds none (32 bytes from the thread CSPRNG), read by every other, never
//! logged. Whoever can write OktaSyncStates (a wildcard `dti.dev` role, a restored backup, a GitOps tool)
//! still cannot forge a checkpoint without also reading this Secret. Deleting it rotates the key: every
//! checkpoint is then refused once and each integration scans in full.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use kube::{Api, Client};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretSlice};

use crate::discovery::checkpoint::KEY_BYTES;

/// The Secret's key that holds the bytes.
pub(crate) const DATA_KEY: &str = "hmac-sha256.key";

/// Where the key lives.
#[derive(Clone, Debug)]
pub(crate) struct KeyRef {
    pub(crate) namespace: String,
    pub(crate) name: String,
}

/// The checkpoint key (never printed: `Debug` shows only its length).
#[derive(Clone)]
pub(crate) struct CheckpointKey(SecretSlice<u8>);

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointKey({} bytes)", self.0.expose_secret().len())
    }
}

impl CheckpointKey {
    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }

    #[cfg(test)]
    pub(crate) fn of(byte: u8) -> CheckpointKey {
        CheckpointKey(SecretSlice::from(vec![byte; KEY_BYTES]))
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    #[error("cannot read or create the checkpoint key Secret {namespace}/{name}: {source}")]
    Kube { namespace: String, name: String, source: kube::Error },
    #[error(
        "the checkpoint key Secret {namespace}/{name} has no {DATA_KEY} of at least {KEY_BYTES} bytes: delete it and the operator makes a new key (each integration then scans in full once)"
    )]
    Unusable { namespace: String, name: String },
}

fn usable(secret: &Secret) -> Option<CheckpointKey> {
    let bytes = &secret.data.as_ref()?.get(DATA_KEY)?.0;
    (bytes.len() >= KEY_BYTES).then(|| CheckpointKey(SecretSlice::from(bytes.clone())))
}

fn fresh(at: &KeyRef) -> Secret {
    let mut key = vec![0u8; KEY_BYTES];
    rand::rng().fill_bytes(&mut key);
    let mut secret = Secret::default();
    secret.metadata.name = Some(at.name.clone());
    secret.metadata.labels =
        Some([("app.kubernetes.io/managed-by".to_string(), "dti-operator".to_string())].into_iter().collect());
    secret.immutable = Some(true);
    secret.data = Some([(DATA_KEY.to_string(), ByteString(key))].into_iter().collect());
    secret
}

/// The key from its Secret, made first when there is none (a replica that loses the race reads the winner's).
pub(crate) async fn load_or_create(client: &Client, at: &KeyRef) -> Result<CheckpointKey, KeyError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), &at.namespace);
    let kube = |source| KeyError::Kube { namespace: at.namespace.clone(), name: at.name.clone(), source };
    let unusable = || KeyError::Unusable { namespace: at.namespace.clone(), name: at.name.clone() };
    if let Some(existing) = api.get_opt(&at.name).await.map_err(kube)? {
        return usable(&existing).ok_or_else(unusable);
    }
    match api.create(&PostParams::default(), &fresh(at)).await {
        Ok(created) => {
            tracing::info!(secret = %format!("{}/{}", at.namespace, at.name), "created the checkpoint key");
            usable(&created).ok_or_else(unusable)
        }
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let existing = api.get(&at.name).await.map_err(kube)?;
            usable(&existing).ok_or_else(unusable)
        }
        Err(e) => Err(kube(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_key_is_random_immutable_and_never_printed() {
        let at = KeyRef { namespace: "dti".into(), name: "k".into() };
        let (a, b) = (fresh(&at), fresh(&at));
        let (ka, kb) = (usable(&a).expect("32 bytes"), usable(&b).expect("32 bytes"));
        assert_ne!(ka.bytes(), kb.bytes());
        assert_eq!(a.immutable, Some(true));
        assert_eq!(format!("{ka:?}"), "CheckpointKey(32 bytes)");
        let mut short = a.clone();
        short.data = Some([(DATA_KEY.to_string(), ByteString(vec![1; 8]))].into_iter().collect());
        assert!(usable(&short).is_none(), "a short key is refused");
    }
}
