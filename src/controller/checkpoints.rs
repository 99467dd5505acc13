//! The checkpoint in the cluster: after each successful sync the engine's state (cursor, ledger,
//! assignments) is saved, compressed, as OktaSyncState parts of at most 768 KiB each (base64 in etcd stays
//! well under its 1.5 MiB object limit), owned by the integration. A restarted operator or a new leader
//! resumes from it; a missing, partial or incompatible checkpoint means a full scan, with an event.
//! Every part is read back as untrusted input: at most as many parts as the cap allows, listed a few at a
//! time; the whole sealed with an HMAC bound to the integration's uid and checked before decompression;
//! a forged, copied, damaged or hostile one is a `CheckpointRejected` warning and a full scan.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::ByteString;
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use super::context::Context;
use super::error::WriteError;
use super::events::{EventReason, Notice};
use super::shared::{
    API_VERSION, FIELD_MANAGER, IntegrationKey, RETRY_PAUSES, delete_if_present, object_name, owned_by, refused,
    retrying, time,
};
use super::state::{Keepable, Saving};
use crate::crd::{CheckpointStatus, INTEGRATION_LABEL, OktaIntegration, OktaSyncState};
use crate::discovery::OrgState;
use crate::discovery::checkpoint::{self, Expect, FORMAT, Seal};

/// Bytes of compressed state per OktaSyncState object.
pub(crate) const PART_BYTES: usize = 768 * 1024;

fn api(ctx: &Context, id: &IntegrationKey) -> Api<OktaSyncState> {
    Api::namespaced(ctx.client.clone(), &id.namespace)
}

/// The seal of this integration's checkpoints: the operator's key, bound to the integration's uid.
fn seal(ctx: &Context, obj: &OktaIntegration) -> Result<Seal, String> {
    Seal::hmac(ctx.checkpoint_key.bytes(), obj.uid().unwrap_or_default().as_bytes())
}

/// Parts a checkpoint under the cap can have (and a little room for an interrupted save's leftovers).
fn max_parts(cap: usize) -> usize {
    cap.div_ceil(PART_BYTES) * 2 + 2
}

/// Why the saved parts cannot even be assembled.
#[derive(Debug, PartialEq, Eq)]
enum Unassembled {
    /// Read error, or an interrupted save: not the checkpoint's fault.
    Unusable(String),
    /// More parts or bytes than the operator ever writes: refused before it is held.
    Rejected(String),
}

/// The integration's parts, listed a few at a time and no more than `max` of them.
async fn parts(api: &Api<OktaSyncState>, obj: &OktaIntegration, max: usize) -> Result<Vec<OktaSyncState>, Unassembled> {
    let uid = obj.uid().unwrap_or_default();
    let mut params = ListParams::default().labels(&format!("{INTEGRATION_LABEL}={}", obj.name_any())).limit(4);
    let mut out = Vec::new();
    loop {
        let page = list_retrying(api, &params, &RETRY_PAUSES)
            .await
            .map_err(|e| Unassembled::Unusable(format!("cannot read it: {e}")))?;
        out.extend(page.items.into_iter().filter(|p| owned_by(p, &uid)));
        if out.len() > max {
            return Err(Unassembled::Rejected(format!("it has more than {max} parts, more than the operator writes")));
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(out),
        }
    }
}

/// A page of parts, asked again while the API server fails (a busy API server must not cost a full scan).
async fn list_retrying(
    api: &Api<OktaSyncState>,
    params: &ListParams,
    pauses: &[Duration],
) -> Result<kube::core::ObjectList<OktaSyncState>, kube::Error> {
    retrying(pauses, |e| !refused(e), || api.list(params)).await
}

/// The newest complete checkpoint's bytes (at most `cap` of them), or why there is none.
fn assemble(parts: Vec<OktaSyncState>, cap: usize) -> Result<Option<Vec<u8>>, Unassembled> {
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
        return Err(Unassembled::Unusable(
            "its parts do not form one whole checkpoint (a save was interrupted)".into(),
        ));
    };
    if let Some(p) = set.iter().find(|p| !checkpoint::readable(&p.spec.format)) {
        let format = crate::text::field(&p.spec.format);
        return Err(Unassembled::Unusable(format!("its format {format:?} is not {FORMAT:?}")));
    }
    let total: usize = set.iter().map(|p| p.spec.data.0.len()).sum();
    if total > cap {
        return Err(Unassembled::Rejected(format!("its parts hold {total} bytes, over the cap of {cap}")));
    }
    Ok(Some(set.into_iter().flat_map(|p| p.spec.data.0).collect()))
}

/// The event (and the log line: a full scan's cause is wanted where its cost shows) of a checkpoint that
/// could not be loaded.
fn notice(id: &IntegrationKey, rejected: bool, why: &str) -> Notice {
    let (reason, verb) = if rejected {
        (EventReason::CheckpointRejected, "was rejected")
    } else {
        (EventReason::CheckpointUnusable, "cannot be used")
    };
    let message = format!("the saved sync state {verb} ({why}): this sync scans the org in full");
    tracing::warn!(integration = %id, reason = reason.as_str(), "{}", crate::text::clean(&message, 300));
    Notice::new(true, reason, "LoadCheckpoint", message)
}

/// Checks and decodes the bytes off the async runtime (a large checkpoint is seconds of CPU).
async fn open(
    bytes: Vec<u8>,
    seal: Seal,
    key: crate::discovery::StateKey,
) -> Result<OrgState, checkpoint::CheckpointError> {
    let now_ms = Utc::now().timestamp_millis();
    tokio::task::spawn_blocking(move || checkpoint::decode(&bytes, &seal, &Expect { key: &key, now_ms }))
        .await
        .unwrap_or(Err(checkpoint::CheckpointError::Corrupt("its decoder stopped")))
}

/// Loads the checkpoint for a sync whose state key is `key`.
pub(crate) async fn load(
    ctx: &Context,
    id: &IntegrationKey,
    obj: &OktaIntegration,
    key: &crate::discovery::StateKey,
) -> (Option<OrgState>, Option<Notice>) {
    let cap = ctx.options.checkpoint_cap;
    let found = match parts(&api(ctx, id), obj, max_parts(cap)).await {
        Ok(p) => assemble(p, cap),
        Err(e) => Err(e),
    };
    let bytes = match found {
        Ok(None) => {
            tracing::info!(integration = %id, "no saved sync state: this sync scans the org in full");
            return (None, None);
        }
        Ok(Some(bytes)) => bytes,
        Err(Unassembled::Unusable(why)) => return (None, Some(notice(id, false, &why))),
        Err(Unassembled::Rejected(why)) => return (None, Some(notice(id, true, &why))),
    };
    let seal = match seal(ctx, obj) {
        Ok(s) => s,
        Err(why) => return (None, Some(notice(id, false, &why))),
    };
    match open(bytes, seal, key.clone()).await {
        Ok(state) => (Some(state), None),
        Err(e) => (None, Some(notice(id, e.rejected(), &e.to_string()))),
    }
}

/// Records (System Log events plus users) read since the saved checkpoint that incremental syncs may leave
/// unsaved: five pages of the System Log at Okta's largest page size, read again after a restart.
pub(crate) const REPLAY_BUDGET: u64 = 5000;

/// The records that would then be unsaved, if a quiet sync that read `read` may leave `kept` as it is: it
/// was saved (not skipped over the cap) less than `max_age` ago and they stay within [`REPLAY_BUDGET`].
/// Resuming from an older checkpoint is exact (a cursor and the ledger up to it: the System Log after it
/// is read again and counted once); the cost is a few more Okta requests after a restart or a takeover,
/// bounded by both limits. What it saves is a write of the whole checkpoint after every sync of a quiet
/// org (146 KiB for a small one), hundreds at once when a replica takes over.
fn pending_if_kept(kept: &Keepable, read: u64, now: chrono::DateTime<Utc>, max_age: Duration) -> Option<u64> {
    let saved_at = kept.status.saved_at.as_ref().filter(|_| kept.status.state == "Saved")?;
    let age = now.timestamp().saturating_sub(saved_at.0.as_second());
    let pending = kept.read_since.saturating_add(read);
    let young = (0..i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX)).contains(&age);
    (young && pending <= REPLAY_BUDGET).then_some(pending)
}

/// Saves the state after a sync, unless the sync was quiet (incremental, no landmark moved: the caller then
/// passes `kept`) and `kept` may stay as it is with the `read` records this sync read (`pending_if_kept`).
pub(crate) async fn save_unless_recent(
    ctx: &Context,
    id: &IntegrationKey,
    obj: &OktaIntegration,
    state: &OrgState,
    kept: Option<&Keepable>,
    read: u64,
) -> (Saving, Option<Notice>) {
    let max_age = ctx.options.checkpoint_max_age;
    if let Some(pending) = kept.and_then(|k| pending_if_kept(k, read, Utc::now(), max_age)) {
        tracing::debug!(integration = %id, pending, "the saved checkpoint is kept (little to read again)");
        return (Saving::Kept { pending }, None);
    }
    let (status, notice) = save(ctx, id, obj, state).await;
    (status.map_or(Saving::Failed, Saving::Written), notice)
}

/// Saves the state; past the cap no checkpoint is kept (and the old one is removed), with a warning.
async fn save(
    ctx: &Context,
    id: &IntegrationKey,
    obj: &OktaIntegration,
    state: &OrgState,
) -> (Option<CheckpointStatus>, Option<Notice>) {
    let encoded = seal(ctx, obj).and_then(|seal| {
        checkpoint::encode_capped(state, ctx.options.checkpoint_cap, &seal)
            .map_err(|e| format!("cannot encode it: {e}"))
    });
    let saved = match encoded {
        Ok(encoded) => {
            write_retrying(ctx, id, obj, &encoded, &RETRY_PAUSES).await.map_err(|e| crate::text::with_causes(&e))
        }
        Err(e) => Err(e),
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
        Err(e) => {
            tracing::warn!(integration = %id, error = %crate::text::clean(&e, 300), "cannot save the sync state");
            let message = format!("cannot save the sync state ({e}); the next sync after a restart scans in full");
            (None, Some(Notice::new(true, EventReason::CheckpointUnusable, "SaveCheckpoint", message)))
        }
    }
}

/// Deletes every part the integration owns that is not of checkpoint `id`, a few listed at a time (a
/// flood of planted parts is never held at once).
async fn delete_others(
    ctx: &Context,
    api: &Api<OktaSyncState>,
    obj: &OktaIntegration,
    id: &str,
) -> Result<(), WriteError> {
    let uid = obj.uid().unwrap_or_default();
    let mut params = ListParams::default().labels(&format!("{INTEGRATION_LABEL}={}", obj.name_any())).limit(4);
    loop {
        let page = api.list(&params).await?;
        for old in page.items {
            if old.spec.checkpoint == id || !owned_by(&old, &uid) {
                continue;
            }
            ctx.fence.check_integration(obj)?;
            delete_if_present(api, &old.name_any()).await?;
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(()),
        }
    }
}

/// Writes the checkpoint, again after each of `pauses` while the failure may pass (never once the
/// integration is another replica's).
async fn write_retrying(
    ctx: &Context,
    id: &IntegrationKey,
    obj: &OktaIntegration,
    encoded: &checkpoint::Encoded,
    pauses: &[Duration],
) -> Result<CheckpointStatus, WriteError> {
    let passing = |e: &WriteError| {
        let passing = e.passing(&ctx.fence, id);
        if passing {
            tracing::info!(integration = %id, error = %crate::text::with_causes(e), "cannot save the checkpoint yet; trying again");
        }
        passing
    };
    retrying(pauses, passing, || write(ctx, id, obj, encoded)).await
}

/// Writes the checkpoint's parts (none past the cap) and deletes every older part.
async fn write(
    ctx: &Context,
    id: &IntegrationKey,
    obj: &OktaIntegration,
    encoded: &checkpoint::Encoded,
) -> Result<CheckpointStatus, WriteError> {
    let api = api(ctx, id);
    let skip = encoded.bytes.is_none();
    let chunks: Vec<&[u8]> = encoded.bytes.as_deref().map(|b| b.chunks(PART_BYTES).collect()).unwrap_or_default();
    let id = format!("{:x}", Utc::now().timestamp_millis());
    let owner = obj.controller_owner_ref(&());
    for (i, chunk) in chunks.iter().enumerate() {
        ctx.fence.check_integration(obj)?;
        let name = object_name(&obj.name_any(), &format!("state-{i}"));
        let object = json!({
            "apiVersion": API_VERSION, "kind": "OktaSyncState",
            "metadata": {"name": name, "labels": {INTEGRATION_LABEL: obj.name_any()}, "ownerReferences": [owner]},
            "spec": {"integration": obj.name_any(), "checkpoint": id, "part": i, "parts": chunks.len(), "format": FORMAT, "data": ByteString(chunk.to_vec())},
        });
        api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&object)).await?;
    }
    delete_others(ctx, &api, obj, &id).await?;
    Ok(CheckpointStatus {
        state: if skip { "Skipped" } else { "Saved" }.into(),
        bytes: encoded.len as u64,
        parts: chunks.len() as u32,
        saved_at: (!skip).then(|| time(Utc::now())),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::controller::context::Options;
    use crate::controller::testing::{answer, assert_nothing_sent, context, deleted, echo, integration};

    fn part(checkpoint: &str, i: u32, of: u32, data: &[u8], owner: &str) -> OktaSyncState {
        serde_json::from_value(json!({
            "apiVersion": "dti.dev/v1alpha1", "kind": "OktaSyncState",
            "metadata": {"name": format!("acme-state-{checkpoint}-{i}"), "namespace": "team-a",
                "labels": {INTEGRATION_LABEL: "acme"},
                "ownerReferences": [{"apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration", "name": "acme", "uid": owner}]},
            "spec": {"integration": "acme", "checkpoint": checkpoint, "part": i, "parts": of, "format": FORMAT, "data": ByteString(data.to_vec())},
        }))
        .expect("a part")
    }

    fn list(items: Vec<OktaSyncState>) -> Value {
        json!({"apiVersion": "dti.dev/v1alpha1", "kind": "OktaSyncStateList", "metadata": {}, "items": items})
    }

    #[test]
    fn assemble_takes_the_one_whole_checkpoint_and_refuses_what_the_operator_never_writes() {
        let whole = vec![part("b", 1, 2, b"world", "u"), part("b", 0, 2, b"hello ", "u"), part("a", 0, 3, b"x", "u")];
        assert_eq!(assemble(whole, 1024), Ok(Some(b"hello world".to_vec())), "parts in order, leftovers ignored");
        assert_eq!(assemble(vec![], 1024), Ok(None));
        let interrupted = assemble(vec![part("a", 0, 2, b"x", "u")], 1024);
        assert!(
            matches!(interrupted, Err(Unassembled::Unusable(ref w)) if w.contains("interrupted")),
            "{interrupted:?}"
        );
        let mut old = part("a", 0, 1, b"x", "u");
        old.spec.format = "dti-sync-state/1+gzip".into();
        assert!(matches!(assemble(vec![old], 1024), Err(Unassembled::Unusable(ref w)) if w.contains("format")));
        let big = assemble(vec![part("a", 0, 2, &[0; 600], "u"), part("a", 1, 2, &[0; 600], "u")], 1000);
        assert!(matches!(big, Err(Unassembled::Rejected(ref w)) if w.contains("over the cap")), "{big:?}");
        assert_eq!(max_parts(16 << 20), 46);
    }

    #[tokio::test]
    async fn a_save_writes_each_part_then_deletes_only_older_parts_it_owns() {
        let (ctx, mut server) = context(Options::default());
        let obj = integration();
        let encoded = checkpoint::Encoded { bytes: Some(vec![1u8; PART_BYTES + 10]), len: PART_BYTES + 10 };
        let saving = tokio::spawn({
            let ctx = ctx.clone();
            async move { write(&ctx, &IntegrationKey::new("team-a", "acme"), &obj, &encoded).await }
        });
        let mut written = Vec::new();
        for i in 0..2 {
            let seen = echo(&mut server, 200).await;
            assert_eq!(seen.method, "PATCH");
            assert!(seen.path.contains(&format!("/namespaces/team-a/oktasyncstates/acme-state-{i}")), "{}", seen.path);
            assert!(seen.path.contains("fieldManager=dti-operator") && seen.path.contains("force=true"));
            assert_eq!(seen.body["spec"]["format"], FORMAT);
            assert_eq!(seen.body["metadata"]["ownerReferences"][0]["uid"], "uid-acme");
            written.push(seen.body["spec"]["checkpoint"].as_str().expect("an id").to_string());
        }
        assert_eq!(written[0], written[1], "both parts carry one checkpoint id");
        let listed = answer(
            &mut server,
            200,
            list(vec![
                part(&written[0], 0, 2, b"", "uid-acme"),
                part("old", 0, 1, b"", "uid-acme"),
                part("foreign", 0, 1, b"", "uid-someone-else"),
            ]),
        )
        .await;
        assert_eq!(listed.method, "GET");
        assert!(listed.path.contains("labelSelector=dti.dev%2Fintegration%3Dacme"), "{}", listed.path);
        let deleted = answer(&mut server, 404, crate::controller::testing::status_error(404, "NotFound")).await;
        assert_eq!(deleted.method, "DELETE");
        assert!(deleted.path.contains("/oktasyncstates/acme-state-old-0?"), "{deleted:?}");
        let status = saving.await.expect("no panic").expect("saved (a 404 on delete is no error)");
        assert_eq!((status.state.as_str(), status.parts), ("Saved", 2));
    }

    #[tokio::test]
    async fn past_the_cap_nothing_is_written_and_older_parts_go() {
        let (ctx, mut server) = context(Options::default());
        let obj = integration();
        let encoded = checkpoint::Encoded { bytes: None, len: 99 << 20 };
        let saving = tokio::spawn({
            let ctx = ctx.clone();
            async move { write(&ctx, &IntegrationKey::new("team-a", "acme"), &obj, &encoded).await }
        });
        let listed = answer(&mut server, 200, list(vec![part("old", 0, 1, b"", "uid-acme")])).await;
        assert_eq!(listed.method, "GET", "no part is written past the cap");
        assert_eq!(answer(&mut server, 200, deleted()).await.method, "DELETE");
        let status = saving.await.expect("no panic").expect("skipped");
        assert_eq!((status.state.as_str(), status.parts, status.bytes), ("Skipped", 0, 99 << 20));
    }

    #[tokio::test]
    async fn a_save_the_api_server_failed_is_tried_again_and_a_refused_one_is_not() {
        let (ctx, mut server) = context(Options::default());
        let encoded = checkpoint::Encoded { bytes: Some(vec![1]), len: 1 };
        let saving = tokio::spawn({
            let ctx = ctx.clone();
            async move {
                let pauses = [Duration::from_millis(10)];
                write_retrying(&ctx, &IntegrationKey::new("team-a", "acme"), &integration(), &encoded, &pauses).await
            }
        });
        assert_eq!(answer(&mut server, 503, Value::Null).await.method, "PATCH");
        assert_eq!(echo(&mut server, 200).await.method, "PATCH", "written again after the pause");
        assert_eq!(answer(&mut server, 200, list(vec![])).await.method, "GET");
        let status = saving.await.expect("no panic").expect("saved on the second attempt");
        assert_eq!(status.state, "Saved");
        let refused = tokio::spawn({
            let ctx = ctx.clone();
            let encoded = checkpoint::Encoded { bytes: Some(vec![1]), len: 1 };
            async move {
                let pauses = [Duration::from_millis(10)];
                write_retrying(&ctx, &IntegrationKey::new("team-a", "acme"), &integration(), &encoded, &pauses).await
            }
        });
        answer(&mut server, 403, Value::Null).await;
        let got = refused.await.expect("no panic");
        assert!(matches!(got, Err(WriteError::Kube(_))), "a refusal is not tried again: {got:?}");
        assert_nothing_sent(&mut server, Duration::from_millis(200), "and sends nothing more").await;
    }

    #[tokio::test]
    async fn a_read_the_api_server_failed_is_asked_again_and_a_refused_one_is_not() {
        let (ctx, mut server) = context(Options::default());
        let api = api(&ctx, &IntegrationKey::new("team-a", "acme"));
        let params = ListParams::default();
        let reading = tokio::spawn({
            let (api, params) = (api.clone(), params.clone());
            async move { list_retrying(&api, &params, &[Duration::from_millis(10)]).await.map(|l| l.items.len()) }
        });
        assert_eq!(answer(&mut server, 503, Value::Null).await.method, "GET");
        answer(&mut server, 200, list(vec![part("1", 0, 1, b"x", "uid-acme")])).await;
        assert_eq!(reading.await.expect("no panic").expect("read on the second attempt"), 1);
        let refused = tokio::spawn(async move { list_retrying(&api, &params, &[Duration::from_millis(10)]).await });
        answer(&mut server, 403, Value::Null).await;
        assert!(refused.await.expect("no panic").is_err(), "a refusal is not asked again");
        assert_nothing_sent(&mut server, Duration::from_millis(200), "and nothing more is sent").await;
    }

    #[tokio::test]
    async fn a_closed_fence_writes_nothing() {
        let (ctx, _server) = context(Options::default());
        ctx.fence.close();
        let encoded = checkpoint::Encoded { bytes: Some(vec![1]), len: 1 };
        let got = write(&ctx, &IntegrationKey::new("team-a", "acme"), &integration(), &encoded).await;
        assert!(matches!(got, Err(WriteError::Fenced(_))), "{got:?}");
    }

    #[test]
    fn a_quiet_sync_keeps_a_recent_checkpoint_and_saves_past_either_limit() {
        let now = Utc::now();
        let kept = |state: &str, minutes_ago: i64, read_since: u64| Keepable {
            status: CheckpointStatus {
                state: state.into(),
                bytes: 1,
                parts: 1,
                saved_at: Some(time(now - chrono::Duration::minutes(minutes_ago))),
            },
            read_since,
        };
        let hour = Duration::from_secs(3600);
        assert_eq!(pending_if_kept(&kept("Saved", 10, 15), 25, now, hour), Some(40));
        assert_eq!(pending_if_kept(&kept("Saved", 10, 0), REPLAY_BUDGET, now, hour), Some(REPLAY_BUDGET));
        assert_eq!(pending_if_kept(&kept("Saved", 10, 1), REPLAY_BUDGET, now, hour), None, "too much to read again");
        assert_eq!(pending_if_kept(&kept("Saved", 10, u64::MAX), 1, now, hour), None, "no overflow");
        assert_eq!(pending_if_kept(&kept("Saved", 61, 0), 0, now, hour), None, "too old");
        assert_eq!(pending_if_kept(&kept("Saved", -5, 0), 0, now, hour), None, "saved in the future: the clock is off");
        assert_eq!(pending_if_kept(&kept("Skipped", 1, 0), 0, now, hour), None, "none was saved (over the cap)");
        assert_eq!(pending_if_kept(&kept("Saved", 0, 0), 0, now, Duration::ZERO), None, "0s: one after every sync");
        let mut unsaved = kept("Saved", 10, 0);
        unsaved.status.saved_at = None;
        assert_eq!(pending_if_kept(&unsaved, 0, now, hour), None, "no time known");
    }
}
