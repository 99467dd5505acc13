//! What every reconcile and sync job shares.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use futures::channel::mpsc::UnboundedSender;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, Resource};
use tokio::sync::Semaphore;

use super::metrics::Metrics;
use super::state::States;
use crate::crd::OktaIntegration;
use crate::okta::{
    ApiToken, ClientOptions, DomainPolicy, GovernorRegistry, OktaClient, OktaError, OrgUrl,
};

/// Settings from the command line.
#[derive(Clone, Debug)]
pub struct Options {
    pub domain_policy: DomainPolicy,
    pub client_options: ClientOptions,
    pub max_concurrent_syncs: usize,
    pub sync_timeout: Duration,
    /// How long an access check may take before the org counts as unreachable.
    pub access_timeout: Duration,
    /// Delay before retrying after a failed sync (capped by spec.syncInterval).
    pub retry_after_failure: Duration,
}

pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub states: States,
    pub governors: GovernorRegistry,
    pub sync_slots: Arc<Semaphore>,
    pub options: Options,
    triggers: Mutex<Vec<UnboundedSender<ObjectRef<OktaIntegration>>>>,
}

impl Context {
    pub fn new(
        client: Client,
        options: Options,
        metrics: Arc<Metrics>,
        instance: String,
    ) -> Context {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: "dti-operator".into(),
                instance: Some(instance),
            },
        );
        Context {
            client,
            recorder,
            metrics,
            states: States::default(),
            governors: GovernorRegistry::default(),
            sync_slots: Arc::new(Semaphore::new(options.max_concurrent_syncs.max(1))),
            options,
            triggers: Mutex::new(Vec::new()),
        }
    }

    /// A client for one org; every integration on that org shares its rate governor.
    pub fn okta_client(&self, org: OrgUrl, token: ApiToken) -> Result<OktaClient, OktaError> {
        let governor = self
            .governors
            .for_org(&org.host, self.options.client_options.max_in_flight);
        let client = OktaClient::new(org, token, governor, self.options.client_options.clone())?;
        Ok(client.with_observer(self.metrics.clone()))
    }

    pub fn add_trigger(&self, sender: UnboundedSender<ObjectRef<OktaIntegration>>) {
        if let Ok(mut t) = self.triggers.lock() {
            t.push(sender);
        }
    }

    /// Asks for a reconcile of an object now (after a sync job finished).
    pub fn trigger(&self, obj_ref: ObjectRef<OktaIntegration>) {
        if let Ok(t) = self.triggers.lock() {
            for sender in t.iter() {
                let _ = sender.unbounded_send(obj_ref.clone());
            }
        }
    }

    /// Publishes a Kubernetes Event on the integration; a failure to publish is logged, never fatal.
    pub async fn event(
        &self,
        obj: &OktaIntegration,
        warning: bool,
        reason: &str,
        action: &str,
        note: String,
    ) {
        let event = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.into(),
            note: Some(note.chars().take(1000).collect()),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, &obj.object_ref(&())).await {
            tracing::warn!(error = %e, reason, "cannot publish event");
        }
    }
}
