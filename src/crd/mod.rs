//! The API (group `dti.dev`, version `v1alpha1`): `OktaIntegration`, the `OktaApp`s it owns, the
//! `OktaSyncState` checkpoint parts, and the customer's `AppContract`s; their CRDs are generated from these types. The types are the API's
//! own: the CLI's JSON report has types of its own, converted where the two meet.

mod app;
mod breakdown;
mod checkpoint;
mod contract;
mod duration;
mod history;
mod integration;
mod reclaim;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, ValidationRule,
};
use kube::CustomResourceExt;

pub use app::{INTEGRATION_LABEL, OktaApp, OktaAppSpec, OktaAppStatus, USED_LABEL};
pub use breakdown::{AttributeValue, BreakdownSpec, UsageBreakdown};
pub use checkpoint::{OktaSyncState, OktaSyncStateSpec};
pub use contract::{
    AppContract, AppContractSpec, AppContractStatus, AppRef, ContractRef, ContractSeats, MatchedApp, Money, Price,
    PricePeriod,
};
pub use duration::{
    DurationError, duration_arg, inactive_after_arg, parse_go_duration, parse_inactive_after, parse_usage_window,
    window_days_arg,
};
pub use history::{MonthUsage, MonthValue, UsageHistory, WeekUsage};
pub use integration::{
    AccessStatus, ApiTokenCredentials, AppSummary, CheckpointStatus, Credentials, DEFAULT_OAUTH_SCOPES,
    DEFAULT_SIGN_IN_EVENT_TYPES, HistorySpec, LastSync, OAuthCredentials, OktaIntegration, OktaIntegrationSpec,
    OktaIntegrationStatus, Permission, PrivateKeySecretRef, PrivateKeySource, ReclaimSpec, SecretKeyRef, Summary,
    SyncMode, SyncResult, UsageSpec,
};
pub use reclaim::{ReclaimBasis, ReclaimSeats, USER_LIST_KEY, UserListRows, UserListSpec, UserListStatus};

/// Annotation whose every new value asks for one sync now; the value is echoed in `status.lastHandledSyncRequest`.
pub const SYNC_REQUESTED_ANNOTATION: &str = "dti.dev/sync-requested-at";

/// Longest OktaIntegration name: it is the value of the dti.dev/integration label on every OktaApp and
/// checkpoint part, and label values hold at most 63 characters.
pub const MAX_INTEGRATION_NAME: usize = 63;

/// The CRDs, with unsigned integer formats spelled as the API server knows them (it warns on uint32/uint64),
/// and the OktaIntegration's name capped where the API server checks it (a root-level rule may read
/// `metadata.name`; the types cannot express it).
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut all = vec![OktaIntegration::crd(), OktaApp::crd(), OktaSyncState::crd(), AppContract::crd()];
    for crd in &mut all {
        let integration = crd.spec.names.kind == "OktaIntegration";
        for version in &mut crd.spec.versions {
            if let Some(schema) = version.schema.as_mut().and_then(|s| s.open_api_v3_schema.as_mut()) {
                normalize_integer_formats(schema);
                if integration {
                    schema.x_kubernetes_validations.get_or_insert_with(Vec::new).push(name_rule());
                }
            }
        }
    }
    all
}

fn name_rule() -> ValidationRule {
    ValidationRule {
        rule: format!("self.metadata.name.size() <= {MAX_INTEGRATION_NAME}"),
        message: Some(format!(
            "metadata.name must be at most {MAX_INTEGRATION_NAME} characters: it is the value of the dti.dev/integration label on the integration's OktaApps and checkpoints, and label values hold at most 63"
        )),
        ..ValidationRule::default()
    }
}

fn normalize_integer_formats(schema: &mut JSONSchemaProps) {
    schema.format = match schema.format.take().as_deref() {
        Some("uint64") => Some("int64".into()),
        Some("uint32") | Some("uint16") | Some("uint8") => Some("int32".into()),
        other => other.map(str::to_string),
    };
    for child in schema.properties.iter_mut().flat_map(|p| p.values_mut()) {
        normalize_integer_formats(child);
    }
    if let Some(child) = schema.additional_properties.as_mut().and_then(|a| match a {
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaPropsOrBool::Schema(s) => Some(s),
        _ => None,
    }) {
        normalize_integer_formats(child);
    }
    if let Some(JSONSchemaPropsOrArray::Schema(items)) = schema.items.as_mut() {
        normalize_integer_formats(items);
    }
}

/// One CRD as YAML, exactly as committed under crds/ (file name: `<plural>.yaml` without the group).
pub fn crd_files() -> Result<Vec<(String, String)>, serde_yaml::Error> {
    crds()
        .into_iter()
        .map(|crd| {
            let file = format!("{}.yaml", crd.spec.names.singular.clone().unwrap_or_default());
            serde_yaml::to_string(&crd).map(|yaml| (file, yaml))
        })
        .collect()
}

/// Every CRD as one multi-document YAML stream (`dti-operator crd`).
pub fn crds_yaml() -> Result<String, serde_yaml::Error> {
    Ok(crd_files()?.into_iter().map(|(_, yaml)| yaml).collect::<Vec<_>>().join("---\n"))
}
