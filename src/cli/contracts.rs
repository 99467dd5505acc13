//! The contracts section of `report`'s table: each AppContract of the integration with its utilization
//! and wasted spend, and the wasted spend summed per currency and period (never converted).

use std::collections::BTreeMap;

use kube::{Api, ResourceExt};

use crate::crd::AppContract;
use crate::money::Decimal;
use crate::text::clean;

/// The integration's contracts by name; none when they cannot be read (the caller may not be allowed
/// to, and the inventory stands on its own).
pub(crate) async fn fetch(client: &kube::Client, namespace: &str, integration: &str) -> Vec<AppContract> {
    let api: Api<AppContract> = Api::namespaced(client.clone(), namespace);
    let Ok(list) = api.list(&Default::default()).await else {
        return Vec::new();
    };
    let mut contracts: Vec<AppContract> =
        list.items.into_iter().filter(|c| c.spec.integration == integration).collect();
    contracts.sort_by_key(|c| c.name_any());
    contracts
}

/// The integration's contracts, as a table; empty when there are none.
pub(crate) async fn section(client: &kube::Client, namespace: &str, integration: &str) -> String {
    render(&fetch(client, namespace, integration).await)
}

/// One contract as the table and the HTML page show it (text cleaned).
#[derive(serde::Serialize)]
pub(crate) struct ContractLine {
    pub(crate) name: String,
    pub(crate) app: String,
    pub(crate) seats: u64,
    pub(crate) active: String,
    pub(crate) reclaim: String,
    pub(crate) utilization: String,
    pub(crate) wasted: String,
    pub(crate) renewal: String,
}

/// Each contract's line, and the wasted spend summed per currency and period ("12.50 USD/month").
pub(crate) fn lines(contracts: &[AppContract]) -> (Vec<ContractLine>, Vec<String>) {
    let mut out = Vec::new();
    let mut totals: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for c in contracts {
        let s = c.status.as_ref();
        let app = s.and_then(|s| s.app.as_ref()).map_or_else(
            || {
                let why = s.and_then(|s| s.conditions.iter().find(|x| x.type_ == "Matched")).map(|x| x.reason.clone());
                format!("(unmatched: {})", why.unwrap_or_else(|| "not yet computed".into()))
            },
            |a| a.label.clone(),
        );
        let seats = s.and_then(|s| s.seats);
        let wasted = s.and_then(|s| s.wasted_spend.clone());
        if let Some(w) = &wasted {
            totals.entry((w.currency.clone(), w.per.clone())).or_default().push(w.amount.clone());
        }
        out.push(ContractLine {
            name: clean(&c.name_any(), 60),
            app: clean(&app, 60),
            seats: c.spec.seats,
            active: seats.map_or("-".into(), |s| s.active.to_string()),
            reclaim: seats.map_or("-".into(), |s| s.reclaimable.to_string()),
            utilization: clean(&s.and_then(|s| s.utilization.clone()).unwrap_or_else(|| "-".into()), 12),
            wasted: wasted.map_or("-".into(), |w| clean(&w.display, 40)),
            renewal: c.spec.renewal.as_deref().map_or("-".into(), |r| clean(r, 10)),
        });
    }
    let totals = totals
        .into_iter()
        .map(|((currency, per), amounts)| format!("{} {}/{}", sum(&amounts), clean(&currency, 3), clean(&per, 5)))
        .collect();
    (out, totals)
}

fn render(contracts: &[AppContract]) -> String {
    if contracts.is_empty() {
        return String::new();
    }
    let (lines, totals) = lines(contracts);
    let mut out = String::from("\nCONTRACT  APP  SEATS  ACTIVE  RECLAIM  UTILIZATION  WASTED  RENEWAL\n");
    for l in lines {
        out.push_str(&format!(
            "{}  {}  {}  {}  {}  {}  {}  {}\n",
            l.name, l.app, l.seats, l.active, l.reclaim, l.utilization, l.wasted, l.renewal
        ));
    }
    for total in totals {
        out.push_str(&format!("wasted spend: {total}\n"));
    }
    out
}

/// Sums the amounts status wrote, exactly.
fn sum(amounts: &[String]) -> String {
    let zero = Decimal::default();
    amounts.iter().filter_map(|a| Decimal::parse_amount(a)).fold(zero, Decimal::plus).to_string()
}
