//! The checkpoint in the cluster: after each successful sync the engine's state (cursor, ledger,
//! assignments) is saved, compressed, as OktaSyncState parts of at most 768 KiB each (base64 in etcd stays
//! well under its 1.5 MiB object limit), owned by the integration. A restarted operator or a new leader
//! resumes from it; a missing, corrupt, partial or incompatible checkpoint means a full scan, with an event.

use std::collections::BTreeMap;

use chrono::Utc;
use k8s_openapi::ByteString;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use super::apps::object_name;
use super::context::Context;
use super::events::{EventReason, Notice};
use super::steps::apply::FIELD_MANAGER;
use super::steps::compose::time;
use crate::crd::{CheckpointStatus, INTEGRATION_LABEL, OktaIntegration, OktaSyncState};
use crate::discovery::OrgState;
use crate::discovery::checkpoint::{self, FORMAT};

/// Bytes of compressed state per OktaSyncState object.
pub(crate) const PART_BYTES: usize = 768 * 1024;

fn api(ctx: &Context, obj: &OktaIntegration) -> Api<OktaSyncState> {
    Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default())
}

async fn parts(api: &Api<OktaSyncState>, obj: &OktaIntegration) -> Result<Vec<OktaSyncState>, kube::Error> {
    let uid = obj.uid().unwrap_or_default();
    let list = api.list(&ListParams::default().labels(&format!("{INTEGRATION_LABEL}={}", obj.name_any()))).await?;
    Ok(list.items.into_iter().filter(|p| p.owner_references().iter().any(|o| o.uid == uid)).collect())
}

/// The newest complete checkpoint's bytes, or why there is none.
fn assemble(parts: Vec<OktaSyncState>) -> Result<Option<Vec<u8>>, String> {
    if parts.is_empty() {
        return Ok(None);
    }
    let mut by_id: BTreeMap<String, Vec<OktaSyncState>> = BTreeMap::new();
    for p in parts {
        by_id.entry(p.spec.checkpoint.clone()).or_default().push(p);
    }
    let complete = by_id.into_values().find_map(|mut set| {
        set.sort_by_key(|p| p.spec.part);
        let n = set.first()?.spec.parts as usize;
        let whole = set.len() == n
            && set.iter().enumerate().all(|(i, p)| p.spec.part as usize == i && p.spec.parts as usize == n);
        whole.then_some(set)
    });
    let Some(set) = complete else {
        return Err("its parts do not form one whole checkpoint (a save was interrupted)".into());
    };
    if let Some(p) = set.iter().find(|p| p.spec.format != FORMAT) {
        return Err(format!("its format {:?} is not {FORMAT:?}", crate::text::field(&p.spec.format)));
    }
    Ok(Some(set.into_iter().flat_map(|p| p.spec.data.0).collect()))
}

/// Loads the checkpoint for a sync whose state key is `key`.
pub(crate) async fn load(
    ctx: &Context,
    obj: &OktaIntegration,
    key: &crate::discovery::StateKey,
) -> (Option<OrgState>, Option<Notice>) {
    let unusable = |why: String| {
        Some(Notice::new(
            true,
            EventReason::CheckpointUnusable,
            "LoadCheckpoint",
            format!("the saved sync state cannot be used ({why}): this sync scans the org in full"),
        ))
    };
    let found = match parts(&api(ctx, obj), obj).await {
        Ok(p) => assemble(p),
        Err(e) => Err(format!("cannot read it: {e}")),
    };
    match found {
        Ok(None) => (None, None),
        Err(why) => (None, unusable(why)),
        Ok(Some(bytes)) => match checkpoint::decode(&bytes) {
            Ok(state) if state.key == *key => (Some(state), None),
            Ok(_) => {
                (None, unusable("it was saved for another domain, usage window, event types or inventory rule".into()))
            }
            Err(e) => (None, unusable(e.to_string())),
        },
    }
}

/// Saves the state; past the cap no checkpoint is kept (and the old one is removed), with a warning.
pub(crate) async fn save(
    ctx: &Context,
    obj: &OktaIntegration,
    state: &OrgState,
) -> (Option<CheckpointStatus>, Option<Notice>) {
    let saved = match checkpoint::encode_capped(state, ctx.options.checkpoint_cap) {
        Ok(encoded) => write(ctx, obj, &encoded).await.map_err(|e| e.to_string()),
        Err(e) => Err(format!("cannot encode it: {e}")),
    };
    match saved {
        Ok(status) => {
            ctx.metrics.checkpoint_bytes.set(status.bytes as i64);
            let notice = (status.state == "Skipped").then(|| {
                Notice::new(
                    true,
                    EventReason::CheckpointSkipped,
                    "SaveCheckpoint",
                    format!(
                        "the sync state is {} bytes compressed, over the cap of {} bytes: it is not saved, so after a restart the next sync scans in full",
                        status.bytes,
                        ctx.options.checkpoint_cap
                    ),
                )
            });
            (Some(status), notice)
        }
        Err(e) => (
            None,
            Some(Notice::new(
                true,
                EventReason::CheckpointUnusable,
                "SaveCheckpoint",
                format!("cannot save the sync state ({e}); the next sync after a restart scans in full"),
            )),
        ),
    }
}

/// Writes the checkpoint's parts (none past the cap) and deletes every older part.
async fn write(
    ctx: &Context,
    obj: &OktaIntegration,
    encoded: &checkpoint::Encoded,
) -> Result<CheckpointStatus, kube::Error> {
    let api = api(ctx, obj);
    let fenced = |e| kube::Error::Service(Box::new(e));
    let skip = encoded.bytes.is_none();
    let chunks: Vec<&[u8]> = encoded.bytes.as_deref().map(|b| b.chunks(PART_BYTES).collect()).unwrap_or_default();
    let id = format!("{:x}", Utc::now().timestamp_millis());
    let owner = obj.controller_owner_ref(&());
    for (i, chunk) in chunks.iter().enumerate() {
        ctx.fence.check().map_err(fenced)?;
        let name = object_name(&obj.name_any(), &format!("state-{i}"));
        let object = json!({
            "apiVersion": "dti.dev/v1alpha1", "kind": "OktaSyncState",
            "metadata": {"name": name, "labels": {INTEGRATION_LABEL: obj.name_any()}, "ownerReferences": [owner]},
            "spec": {"integration": obj.name_any(), "checkpoint": id, "part": i, "parts": chunks.len(), "format": FORMAT, "data": ByteString(chunk.to_vec())},
        });
        api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&object)).await?;
    }
    for old in parts(&api, obj).await? {
        if old.spec.checkpoint != id {
            ctx.fence.check().map_err(fenced)?;
            match api.delete(&old.name_any(), &DeleteParams::background()).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(CheckpointStatus {
        state: if skip { "Skipped" } else { "Saved" }.into(),
        bytes: encoded.len as u64,
        parts: chunks.len() as u32,
        saved_at: (!skip).then(|| time(Utc::now())),
    })
}
