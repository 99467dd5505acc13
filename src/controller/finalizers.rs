//! The first version put a finalizer (`dti.dev/cleanup`) on every OktaIntegration although nothing
//! outside the process needs cleaning up; with the operator gone it left namespaces stuck Terminating.
//! On start the operator removes it from every object it can see.

use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;

use crate::crd::OktaIntegration;

pub(crate) const LEGACY_FINALIZER: &str = "dti.dev/cleanup";

/// Removes the legacy finalizer in the given scopes (None: the whole cluster); returns how many objects
/// carried it.
pub(crate) async fn remove_legacy(client: &Client, scopes: &[Option<String>]) -> Result<usize, kube::Error> {
    let mut removed = 0;
    for scope in scopes {
        let api: Api<OktaIntegration> = match scope {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        for obj in api.list(&ListParams::default()).await?.items {
            if !obj.finalizers().iter().any(|f| f == LEGACY_FINALIZER) {
                continue;
            }
            let namespaced: Api<OktaIntegration> =
                Api::namespaced(client.clone(), &obj.namespace().unwrap_or_default());
            let rest: Vec<&String> = obj.finalizers().iter().filter(|f| *f != LEGACY_FINALIZER).collect();
            // The resourceVersion makes the patch fail (409) if the list changed since it was read.
            let patch = json!({"metadata": {"finalizers": rest, "resourceVersion": obj.resource_version()}});
            match namespaced.patch(&obj.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => removed += 1,
                Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}
