//! The opt-in per-user list (spec.reclaim.userList): after each successful sync, the per-user CSV
//! (`sync --per-user`'s columns), gzip'd and capped, in a Secret of the integration's namespace that the
//! integration owns. Personal data, so: written only when asked, readable under the same RBAC as the
//! credentials, rewritten only when its content changed, removed when the opt-in goes, and never written
//! over a Secret of that name the integration does not own (a spec must not turn the operator's write
//! access against another Secret).

use std::collections::BTreeMap;

use chrono::Utc;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Resource, ResourceExt};

use super::context::Context;
use super::error::WriteError;
use super::events::{EventReason, Notice};
use super::shared::{FIELD_MANAGER, IntegrationKey, delete_if_present, owned_by, time};
use crate::crd::{INTEGRATION_LABEL, OktaIntegration, USER_LIST_KEY, UserListRows, UserListSpec, UserListStatus};
use crate::discovery::{CompressedList, ExportTimes, OrgState, Rows, SyncConfig, compressed_list};

/// Compressed bytes at most: a Secret holds 1 MiB, and its metadata needs some of it.
pub(crate) const MAX_BYTES: usize = 900 * 1024;
/// The uncompressed CSV's SHA-256: an unchanged list is not written again.
const SHA_ANNOTATION: &str = "dti.dev/content-sha256";
/// When the content last changed.
const UPDATED_ANNOTATION: &str = "dti.dev/updated-at";

/// What status should say about the list after a sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ListChange {
    /// Leave status as it is (nothing asked, or the write failed and is tried again next sync).
    Keep,
    Set(UserListStatus),
    /// The opt-in went and the list with it.
    Clear,
}

#[derive(Debug, thiserror::Error)]
enum ListError {
    #[error(
        "Secret {0} exists and this integration does not own it: it is left alone; choose another spec.reclaim.userList.secretName"
    )]
    NotOurs(String),
    #[error("the operator may not write Secrets in namespace {0}: the chart grants it with rbac.userListSecrets=true")]
    Forbidden(String),
    #[error("cannot build the list: {0}")]
    Build(#[from] std::io::Error),
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl From<kube::Error> for ListError {
    fn from(e: kube::Error) -> ListError {
        ListError::Write(WriteError::Kube(e))
    }
}

/// The list's Secret name as status last recorded it.
fn recorded(obj: &OktaIntegration) -> Option<&str> {
    obj.status.as_ref()?.reclaim_user_list.as_ref().map(|l| l.secret_name.as_str())
}

/// Writes, replaces or removes the list as the spec asks, after a successful sync of `engine`.
pub(crate) async fn update(
    ctx: &Context,
    id: &IntegrationKey,
    obj: &OktaIntegration,
    engine: &OrgState,
    config: &SyncConfig,
) -> (ListChange, Option<Notice>) {
    let wanted = obj.spec.reclaim.user_list.as_ref();
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &id.namespace);
    let mut notices = Vec::new();
    let mut change = ListChange::Keep;
    if let Some(old) = recorded(obj).filter(|old| wanted.is_none_or(|w| w.secret_name != *old)) {
        match remove(ctx, &api, obj, old).await {
            Ok(()) => change = ListChange::Clear,
            Err(e) => notices.push(failed(format!("cannot remove the per-user list from Secret {old}: {e}"))),
        }
    }
    if let Some(spec) = wanted {
        match write(ctx, &api, obj, engine, config, spec).await {
            Ok(status) => change = ListChange::Set(status),
            Err(e) => notices.push(failed(format!("cannot write the per-user list: {e}"))),
        }
    }
    (change, notices.into_iter().next())
}

fn failed(message: String) -> Notice {
    Notice::new(true, EventReason::UserListFailed, "WriteUserList", message)
}

/// Deletes the list's Secret if this integration owns it.
async fn remove(ctx: &Context, api: &Api<Secret>, obj: &OktaIntegration, name: &str) -> Result<(), ListError> {
    let uid = obj.uid().unwrap_or_default();
    if api.get_opt(name).await?.is_some_and(|s| owned_by(&s, &uid)) {
        ctx.fence.check_integration(obj).map_err(WriteError::from)?;
        delete_if_present(api, name).await?;
    }
    Ok(())
}

fn rows_of(spec: &UserListSpec) -> Rows {
    match spec.rows {
        UserListRows::All => Rows::All,
        UserListRows::Reclaimable => Rows::Reclaimable,
    }
}

/// Builds the list and writes it where the spec says, unless it is unchanged.
async fn write(
    ctx: &Context,
    api: &Api<Secret>,
    obj: &OktaIntegration,
    engine: &OrgState,
    config: &SyncConfig,
    spec: &UserListSpec,
) -> Result<UserListStatus, ListError> {
    let now = config.clock.now();
    let times = ExportTimes::at(now.timestamp_millis(), config.window_days, &config.reclaim);
    let list = compressed_list(engine, times, rows_of(spec), u64::from(spec.max_rows), MAX_BYTES)?;
    let name = &spec.secret_name;
    let existing = api.get_opt(name).await?;
    if existing.as_ref().is_some_and(|s| !owned_by(s, &obj.uid().unwrap_or_default())) {
        return Err(ListError::NotOurs(crate::text::field(name)));
    }
    let status = |updated: Option<&String>| UserListStatus {
        secret_name: name.clone(),
        rows: list.written.rows,
        total_rows: list.written.total,
        truncated: list.written.rows < list.written.total,
        bytes: list.gzip.len() as u64,
        updated_at: updated.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| time(t.to_utc())),
    };
    if let Some(s) = existing.as_ref().filter(|s| s.annotations().get(SHA_ANNOTATION) == Some(&list.sha256)) {
        return Ok(status(s.annotations().get(UPDATED_ANNOTATION)));
    }
    let updated = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let secret = secret_of(obj, name, &list, &updated, existing.as_ref().and_then(|s| s.resource_version()));
    ctx.fence.check_integration(obj).map_err(WriteError::from)?;
    let written = match existing {
        // Created, never applied: a Secret someone made meanwhile is not taken over.
        None => {
            api.create(&PostParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() }, &secret).await
        }
        // The resourceVersion is a precondition: a Secret changed since it was read is not written.
        Some(_) => api.patch(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&secret)).await,
    };
    match written {
        Ok(_) => Ok(status(Some(&updated))),
        Err(kube::Error::Api(e)) if e.code == 403 => Err(ListError::Forbidden(obj.namespace().unwrap_or_default())),
        Err(e) => Err(e.into()),
    }
}

/// The Secret holding `list`, owned by the integration.
fn secret_of(
    obj: &OktaIntegration,
    name: &str,
    list: &CompressedList,
    updated: &str,
    resource_version: Option<String>,
) -> Secret {
    let annotations = BTreeMap::from([
        (SHA_ANNOTATION.to_string(), list.sha256.clone()),
        (UPDATED_ANNOTATION.to_string(), updated.to_string()),
    ]);
    let labels = BTreeMap::from([
        (INTEGRATION_LABEL.to_string(), obj.name_any()),
        ("app.kubernetes.io/managed-by".to_string(), FIELD_MANAGER.to_string()),
    ]);
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: obj.namespace(),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: obj.controller_owner_ref(&()).map(|o| vec![o]),
            resource_version,
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(USER_LIST_KEY.to_string(), ByteString(list.gzip.clone()))])),
        ..Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::controller::context::Options;
    use crate::controller::testing::{answer, context, deleted, echo, integration, status_error};
    use crate::discovery::checkpoint::tests::sample;

    fn opted_in(status: Option<Value>) -> OktaIntegration {
        let mut obj = integration();
        obj.spec.reclaim.user_list =
            Some(UserListSpec { secret_name: "acme-seats".into(), rows: UserListRows::All, max_rows: 100 });
        obj.status = status.map(|s| serde_json::from_value(s).expect("status"));
        obj
    }

    fn config(obj: &OktaIntegration) -> SyncConfig {
        let clock = crate::discovery::Clock::System;
        crate::controller::steps::validate::spec_settings(obj, "https://acme.okta.com", &clock).expect("settings").0
    }

    fn secret(owner: &str, sha: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "acme-seats", "namespace": "team-a", "resourceVersion": "41",
                "annotations": {SHA_ANNOTATION: sha, UPDATED_ANNOTATION: "2026-12-01T00:00:00Z"},
                "ownerReferences": [{"apiVersion": "dti.dev/v1alpha1", "kind": "OktaIntegration", "name": "acme", "uid": owner}]}})
    }

    async fn run(
        ctx: &std::sync::Arc<Context>,
        obj: OktaIntegration,
    ) -> tokio::task::JoinHandle<(ListChange, Option<Notice>)> {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let config = config(&obj);
            update(&ctx, &IntegrationKey::new("team-a", "acme"), &obj, &sample(), &config).await
        })
    }

    #[tokio::test]
    async fn a_new_list_is_created_owned_and_gzip_d() {
        let (ctx, mut server) = context(Options::default());
        let job = run(&ctx, opted_in(None)).await;
        assert_eq!(answer(&mut server, 404, status_error(404, "NotFound")).await.method, "GET");
        let created = echo(&mut server, 201).await;
        assert_eq!((created.method.as_str(), created.path.contains("/namespaces/team-a/secrets?")), ("POST", true));
        assert_eq!(created.body["metadata"]["ownerReferences"][0]["uid"], "uid-acme");
        assert!(created.body["data"][USER_LIST_KEY].is_string());
        let (change, notice) = job.await.expect("no panic");
        let ListChange::Set(status) = change else { panic!("{change:?}") };
        assert_eq!((status.rows, status.total_rows, status.truncated), (2, 2, false));
        assert!(status.updated_at.is_some() && notice.is_none());
    }

    #[tokio::test]
    async fn an_unchanged_list_is_not_written_and_a_foreign_secret_is_left_alone() {
        let (ctx, mut server) = context(Options::default());
        let obj = opted_in(None);
        let config = config(&obj);
        let times = ExportTimes::at(config.clock.now().timestamp_millis(), config.window_days, &config.reclaim);
        let sha = compressed_list(&sample(), times, Rows::All, 100, MAX_BYTES).expect("list").sha256;
        let job = run(&ctx, obj.clone()).await;
        answer(&mut server, 200, secret("uid-acme", &sha)).await;
        let (change, _) = job.await.expect("no panic");
        assert!(matches!(change, ListChange::Set(ref s) if s.updated_at.is_some()), "{change:?}");
        let job = run(&ctx, obj).await;
        answer(&mut server, 200, secret("uid-someone-else", "x")).await;
        let (change, notice) = job.await.expect("no panic");
        assert_eq!(change, ListChange::Keep);
        let note = notice.expect("a warning").note;
        assert!(note.contains("does not own it"), "{note}");
    }

    #[tokio::test]
    async fn a_changed_list_is_applied_on_its_resource_version_and_the_opt_out_removes_it() {
        let (ctx, mut server) = context(Options::default());
        let job = run(&ctx, opted_in(None)).await;
        answer(&mut server, 200, secret("uid-acme", "stale")).await;
        let applied = echo(&mut server, 200).await;
        assert_eq!(applied.method, "PATCH");
        assert_eq!(applied.body["metadata"]["resourceVersion"], "41", "a precondition, not a blind write");
        assert!(matches!(job.await.expect("no panic").0, ListChange::Set(_)));
        let mut out = integration();
        out.status = Some(
            serde_json::from_value(json!({"reclaimUserList":
            {"secretName": "acme-seats", "rows": 1, "totalRows": 1, "truncated": false, "bytes": 9}}))
            .expect("status"),
        );
        let job = run(&ctx, out).await;
        answer(&mut server, 200, secret("uid-acme", "x")).await;
        assert_eq!(answer(&mut server, 200, deleted()).await.method, "DELETE");
        assert_eq!(job.await.expect("no panic"), (ListChange::Clear, None));
    }

    #[tokio::test]
    async fn a_refused_write_says_what_to_grant() {
        let (ctx, mut server) = context(Options::default());
        let job = run(&ctx, opted_in(None)).await;
        answer(&mut server, 404, status_error(404, "NotFound")).await;
        answer(&mut server, 403, status_error(403, "Forbidden")).await;
        let (change, notice) = job.await.expect("no panic");
        assert_eq!(change, ListChange::Keep);
        assert!(notice.expect("a warning").note.contains("rbac.userListSecrets=true"));
    }
}
