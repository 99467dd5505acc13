//! A contract's status from its outcome: conditions with observedGeneration, and the figures.

use chrono::{DateTime, NaiveDate, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::compute::{Candidate, Figures, NoMatch, figures, find};
use crate::crd::{AppContract, AppContractStatus, OktaApp};
use crate::text;

/// What reconciling a contract found.
pub(crate) enum Outcome {
    Matched(Box<Figures>),
    NoIntegration,
    NoMatch(NoMatch),
    /// The price does not parse (only if the CRD's validation was bypassed).
    BadPrice,
}

impl Outcome {
    pub(crate) fn figures(&self) -> Option<&Figures> {
        match self {
            Outcome::Matched(f) => Some(f),
            _ => None,
        }
    }
}

pub(crate) fn outcome(contract: &AppContract, integration_found: bool, apps: &[OktaApp], today: NaiveDate) -> Outcome {
    if !integration_found {
        return Outcome::NoIntegration;
    }
    let candidates: Vec<Candidate<'_>> = apps
        .iter()
        .filter_map(|a| {
            Some(Candidate { object: a.metadata.name.as_deref()?, app_id: &a.spec.app_id, status: a.status.as_ref()? })
        })
        .collect();
    match find(&contract.spec, &candidates) {
        Ok(app) => figures(&contract.spec, app, today).map_or(Outcome::BadPrice, |f| Outcome::Matched(Box::new(f))),
        Err(e) => Outcome::NoMatch(e),
    }
}

fn condition(
    type_: &str,
    ok: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: DateTime<Utc>,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: text::message(&message),
        observed_generation: generation,
        last_transition_time: crate::controller::shared::time(now),
    }
}

/// The status to write; conditions keep their transition time while their status holds.
pub(crate) fn compose(contract: &AppContract, outcome: &Outcome, now: DateTime<Utc>) -> AppContractStatus {
    let generation = contract.metadata.generation;
    let integration = &contract.spec.integration;
    let (matched, reason, message) = match outcome {
        Outcome::Matched(f) => (true, "Matched", format!("matched app {} ({})", f.app.label, f.app.id)),
        Outcome::NoIntegration => (
            false,
            "IntegrationNotFound",
            format!("no OktaIntegration {integration} in this namespace: spec.integration must name one here"),
        ),
        Outcome::NoMatch(e) => (false, e.reason(), e.message(integration)),
        Outcome::BadPrice => (false, "InvalidPrice", "spec.price.amount is not a decimal such as \"12.50\"".into()),
    };
    let mut conditions = vec![
        condition("Matched", matched, reason, message.clone(), generation, now),
        condition("Ready", matched, if matched { "Computed" } else { reason }, message, generation, now),
    ];
    let old = contract.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
    for c in &mut conditions {
        if let Some(prev) = old.iter().find(|p| p.type_ == c.type_ && p.status == c.status) {
            c.last_transition_time = prev.last_transition_time.clone();
        }
    }
    let f = outcome.figures();
    AppContractStatus {
        conditions,
        observed_generation: generation,
        app: f.map(|f| f.app.clone()),
        seats: f.map(|f| f.seats),
        utilization: f.and_then(|f| f.utilization.clone()),
        cost: f.map(|f| f.cost.clone()),
        wasted_spend: f.map(|f| f.wasted_spend.clone()),
        renewal_in_days: f.and_then(|f| f.renewal_in_days),
        computed_at: Some(crate::controller::shared::time(now)),
    }
}

/// Whether the status differs from what is there (the computation time alone is no change).
pub(crate) fn changed(current: Option<&AppContractStatus>, desired: &AppContractStatus) -> bool {
    current.is_none_or(|c| {
        AppContractStatus { computed_at: None, ..c.clone() }
            != AppContractStatus { computed_at: None, ..desired.clone() }
    })
}
