//! metav1.Condition bookkeeping: set a condition, keep lastTransitionTime while its status holds.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

pub const READY: &str = "Ready";
pub const ACCESS_VALIDATED: &str = "AccessValidated";
pub const SYNCED: &str = "Synced";
/// kstatus: the controller is working toward the desired state (abnormal-true; absent when done).
pub const RECONCILING: &str = "Reconciling";
/// kstatus: the controller cannot progress without a change from the user (abnormal-true).
pub const STALLED: &str = "Stalled";

/// The condition types in the order status lists them.
pub const ORDER: [&str; 5] = [READY, ACCESS_VALIDATED, SYNCED, RECONCILING, STALLED];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub type_: &'static str,
    pub status: bool,
    pub reason: String,
    pub message: String,
}

impl Desired {
    pub fn new(
        type_: &'static str,
        status: bool,
        reason: &str,
        message: impl Into<String>,
    ) -> Desired {
        Desired {
            type_,
            status,
            reason: reason.to_string(),
            message: message.into(),
        }
    }
}

/// Builds the conditions list from the desired ones, keeping each transition time while its status holds.
pub fn merge(
    previous: &[Condition],
    desired: &[Desired],
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    let mut out = Vec::new();
    for type_ in ORDER {
        let Some(d) = desired.iter().find(|d| d.type_ == type_) else {
            continue;
        };
        let status = if d.status { "True" } else { "False" }.to_string();
        let since = previous
            .iter()
            .find(|c| c.type_ == type_ && c.status == status)
            .map(|c| c.last_transition_time.clone())
            .unwrap_or(Time(now));
        out.push(Condition {
            type_: type_.to_string(),
            status,
            reason: d.reason.clone(),
            message: d.message.clone(),
            observed_generation: generation,
            last_transition_time: since,
        });
    }
    out
}

pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_is_kept_while_status_holds() {
        let t0 = Timestamp::from_second(1_700_000_000).unwrap();
        let t1 = Timestamp::from_second(1_700_000_600).unwrap();
        let first = merge(
            &[],
            &[Desired::new(READY, false, "Syncing", "first sync")],
            Some(1),
            t0,
        );
        let same = merge(
            &first,
            &[Desired::new(READY, false, "Syncing", "still")],
            Some(1),
            t1,
        );
        assert_eq!(same[0].last_transition_time, Time(t0));
        assert_eq!(same[0].message, "still");
        let flipped = merge(
            &same,
            &[Desired::new(READY, true, "Succeeded", "ok")],
            Some(2),
            t1,
        );
        assert_eq!(flipped[0].last_transition_time, Time(t1));
        assert_eq!(flipped[0].observed_generation, Some(2));
        // abnormal-true conditions disappear when not desired
        let with_stalled = merge(
            &[],
            &[
                Desired::new(READY, false, "X", ""),
                Desired::new(STALLED, true, "X", ""),
            ],
            None,
            t0,
        );
        assert_eq!(with_stalled.len(), 2);
        assert_eq!(
            merge(
                &with_stalled,
                &[Desired::new(READY, true, "Y", "")],
                None,
                t1
            )
            .len(),
            1
        );
    }
}
