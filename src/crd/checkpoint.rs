//! `OktaSyncState`: the checkpoint an integration's next sync resumes from after a restart or failover
//! (System Log cursor, usage ledger, assignments), compressed and split into parts well under etcd's
//! object limit. A kind of its own, owned by the integration: it holds Okta user ids, so it stays out of
//! the ConfigMaps that Kubernetes' built-in view role can read and out of the opt-in view role for
//! OktaIntegrations and OktaApps.

// kube's repeated `printcolumn(...)` arguments look like duplicated attributes to clippy; they are not.
#![allow(clippy::duplicated_attributes)]
// kube's KubeSchema derive re-emits each struct in a private scope, which unreachable_pub flags.
#![allow(unreachable_pub)]

use k8s_openapi::ByteString;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// One part of an integration's saved sync state (written and read by the operator only).
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "dti.dev",
    version = "v1alpha1",
    kind = "OktaSyncState",
    namespaced,
    doc = "OktaSyncState holds one part of an OktaIntegration's saved sync state (written by the operator; it contains Okta user ids).",
    printcolumn(name = "Integration", type_ = "string", json_path = ".spec.integration"),
    printcolumn(name = "Part", type_ = "integer", json_path = ".spec.part"),
    printcolumn(name = "Parts", type_ = "integer", json_path = ".spec.parts"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct OktaSyncStateSpec {
    /// The OktaIntegration (same namespace) this state belongs to.
    pub integration: String,
    /// Identifies one checkpoint: every part of it carries the same value.
    pub checkpoint: String,
    /// This part's position, from 0.
    pub part: u32,
    /// How many parts the checkpoint has.
    pub parts: u32,
    /// The encoding of data (the operator refuses what it does not know and scans in full instead).
    pub format: String,
    /// A slice of the compressed checkpoint (base64).
    #[schemars(with = "String")]
    pub data: ByteString,
}
