//! One contract's status from the OktaApps of its integration: which app it names (exactly one, or a
//! reason why not), utilization, cost, wasted spend and days to renewal. No Kubernetes calls here.

use chrono::NaiveDate;

use crate::crd::{AppContractSpec, ContractSeats, MatchedApp, Money, OktaAppStatus};
use crate::money::Decimal;

/// Why a contract matched no app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NoMatch {
    /// No app of the integration has that id or label (yet: the integration may not have synced).
    AppNotFound(String),
    /// More than one app carries the label: name the app by id instead.
    AmbiguousLabel { label: String, ids: Vec<String> },
}

impl NoMatch {
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            NoMatch::AppNotFound(_) => "AppNotFound",
            NoMatch::AmbiguousLabel { .. } => "AmbiguousLabel",
        }
    }

    pub(crate) fn message(&self, integration: &str) -> String {
        match self {
            NoMatch::AppNotFound(what) => format!(
                "no app of OktaIntegration {integration} has {what}: check spec.app (an id as Okta shows it, or the exact label), or wait for the integration's first sync"
            ),
            NoMatch::AmbiguousLabel { label, ids } => format!(
                "{} apps of OktaIntegration {integration} are labelled {label:?} ({}): set spec.app.id instead",
                ids.len(),
                ids.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// An OktaApp as the matcher sees it: its object name, app id and status.
pub(crate) struct Candidate<'a> {
    pub(crate) object: &'a str,
    pub(crate) app_id: &'a str,
    pub(crate) status: &'a OktaAppStatus,
}

/// The one app the contract names.
pub(crate) fn find<'a>(spec: &AppContractSpec, apps: &'a [Candidate<'a>]) -> Result<&'a Candidate<'a>, NoMatch> {
    if let Some(id) = &spec.app.id {
        return apps.iter().find(|a| a.app_id == id).ok_or_else(|| NoMatch::AppNotFound(format!("the id {id:?}")));
    }
    let label = spec.app.label.clone().unwrap_or_default();
    let matching: Vec<&Candidate<'_>> = apps.iter().filter(|a| a.status.label == label).collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(NoMatch::AppNotFound(format!("the label {label:?}"))),
        many => {
            let mut ids: Vec<String> = many.iter().map(|a| a.app_id.to_string()).collect();
            ids.sort();
            Err(NoMatch::AmbiguousLabel { label, ids })
        }
    }
}

/// What a matched contract computes to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Figures {
    pub(crate) app: MatchedApp,
    pub(crate) seats: ContractSeats,
    pub(crate) utilization: Option<String>,
    pub(crate) utilization_ratio: Option<f64>,
    pub(crate) cost: Money,
    pub(crate) wasted_spend: Money,
    pub(crate) wasted_amount: f64,
    pub(crate) renewal_in_days: Option<i64>,
    /// The renewal date's start (UTC), in seconds.
    pub(crate) renewal_ts: Option<i64>,
}

fn money(amount: Decimal, spec: &AppContractSpec) -> Money {
    let per = spec.price.per.as_str().to_string();
    Money {
        amount: amount.to_string(),
        currency: spec.price.currency.clone(),
        display: format!("{amount} {}/{per}", spec.price.currency),
        per,
    }
}

/// Active users per contracted seat, as "62.5%" (one place, rounded half up).
fn utilization(active: u64, contracted: u64) -> Option<String> {
    (contracted > 0).then(|| {
        let permille = (u128::from(active) * 1000 + u128::from(contracted) / 2) / u128::from(contracted);
        format!("{}.{}%", permille / 10, permille % 10)
    })
}

/// Computes a matched contract; None when the price does not parse (the CRD rejects such prices).
pub(crate) fn figures(spec: &AppContractSpec, app: &Candidate<'_>, today: NaiveDate) -> Option<Figures> {
    let price = Decimal::parse(&spec.price.amount)?;
    let s = app.status;
    let seats = ContractSeats {
        contracted: spec.seats,
        assigned: s.assigned_users,
        active: s.active_users,
        reclaimable: s.reclaim.map_or(0, |r| r.seats),
    };
    let idle = spec.seats.saturating_sub(s.active_users);
    let wasted = price.times(idle);
    Some(Figures {
        app: MatchedApp { id: app.app_id.to_string(), label: s.label.clone(), oktaapp: app.object.to_string() },
        utilization: utilization(s.active_users, spec.seats),
        utilization_ratio: (spec.seats > 0).then(|| s.active_users as f64 / spec.seats as f64),
        cost: money(price.times(spec.seats), spec),
        wasted_spend: money(wasted, spec),
        wasted_amount: wasted.as_f64(),
        renewal_in_days: renewal_in_days(spec.renewal.as_deref(), today),
        renewal_ts: spec
            .renewal
            .as_deref()
            .and_then(|r| NaiveDate::parse_from_str(r, "%Y-%m-%d").ok())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp()),
        seats,
    })
}

/// Whole days from `today` (UTC) to the renewal date; negative once it has passed.
pub(crate) fn renewal_in_days(renewal: Option<&str>, today: NaiveDate) -> Option<i64> {
    let date = NaiveDate::parse_from_str(renewal?, "%Y-%m-%d").ok()?;
    Some((date - today).num_days())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{AppRef, Price, PricePeriod, ReclaimSeats};

    fn spec(id: Option<&str>, label: Option<&str>, seats: u64, amount: &str) -> AppContractSpec {
        AppContractSpec {
            integration: "acme".into(),
            app: AppRef { id: id.map(str::to_string), label: label.map(str::to_string) },
            seats,
            price: Price { amount: amount.into(), currency: "USD".into(), per: PricePeriod::Month },
            renewal: Some("2027-01-15".into()),
            owner: None,
            notes: None,
        }
    }

    fn status(label: &str, assigned: u64, active: u64) -> OktaAppStatus {
        OktaAppStatus {
            label: label.into(),
            assigned_users: assigned,
            active_users: active,
            reclaim: Some(ReclaimSeats { seats: 7, ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn a_contract_matches_one_app_by_id_or_by_an_unambiguous_label() {
        let (slack, zoom1, zoom2) = (status("Slack", 10, 8), status("Zoom", 5, 5), status("Zoom", 3, 1));
        let apps = [
            Candidate { object: "acme-0oa1", app_id: "0oa1", status: &slack },
            Candidate { object: "acme-0oa2", app_id: "0oa2", status: &zoom1 },
            Candidate { object: "acme-0oa3", app_id: "0oa3", status: &zoom2 },
        ];
        assert_eq!(find(&spec(None, Some("Slack"), 1, "1"), &apps).map(|a| a.app_id), Ok("0oa1"));
        assert_eq!(find(&spec(Some("0oa3"), None, 1, "1"), &apps).map(|a| a.app_id), Ok("0oa3"));
        let ambiguous = find(&spec(None, Some("Zoom"), 1, "1"), &apps).err().expect("two Zooms");
        assert_eq!(ambiguous.reason(), "AmbiguousLabel");
        assert!(ambiguous.message("acme").contains("0oa2, 0oa3"), "{}", ambiguous.message("acme"));
        assert_eq!(find(&spec(None, Some("slack"), 1, "1"), &apps).err().map(|e| e.reason()), Some("AppNotFound"));
        assert_eq!(find(&spec(Some("0oa9"), None, 1, "1"), &apps).err().map(|e| e.reason()), Some("AppNotFound"));
    }

    #[test]
    fn utilization_cost_waste_and_renewal_follow_the_contract() {
        let slack = status("Slack", 90, 62);
        let app = Candidate { object: "acme-0oa1", app_id: "0oa1", status: &slack };
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).expect("date");
        let f = figures(&spec(Some("0oa1"), None, 100, "12.50"), &app, today).expect("figures");
        assert_eq!(f.seats, ContractSeats { contracted: 100, assigned: 90, active: 62, reclaimable: 7 });
        assert_eq!(f.utilization.as_deref(), Some("62.0%"));
        assert_eq!(f.cost.display, "1250.00 USD/month");
        assert_eq!(f.wasted_spend.amount, "475.00", "38 idle contracted seats at 12.50");
        assert_eq!(f.renewal_in_days, Some(41));
        assert_eq!(utilization(2, 3).as_deref(), Some("66.7%"));
        assert_eq!(utilization(150, 100).as_deref(), Some("150.0%"), "more users than seats shows as such");
        let over = figures(&spec(Some("0oa1"), None, 10, "3"), &app, today).expect("figures");
        assert_eq!(over.wasted_spend.amount, "0.00", "no waste when every contracted seat is used");
        assert_eq!(renewal_in_days(Some("2026-11-30"), today), Some(-5), "a renewal passed");
        assert_eq!(utilization(0, 0), None);
    }
}
