//! Who uses what: each app's and the org's seats, active users and unused seats per value of each
//! configured profile attribute (spec.breakdown.attributes). Every user has one value per attribute (or
//! none), so the values partition the app's numbers: they add up to its seats, active users and unused
//! seats, and the org's distinct active users add up too.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::attributes::ProfileAttributes;
use super::state::OrgState;

/// One attribute value's usage. `value` is Okta's text ("" for users without it, shown as "(none)").
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ValueUsage {
    pub(crate) value: String,
    /// The row summing the values past a top N (status keeps the top 20).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) other: bool,
    pub(crate) seats: u64,
    pub(crate) active_users: u64,
    pub(crate) unused_seats: u64,
}

/// Per attribute name, its values, most seats first.
pub(crate) type Breakdown = BTreeMap<String, Vec<ValueUsage>>;

/// Counts by interned value, per attribute.
struct Tallies(Vec<HashMap<u32, ValueUsage>>);

impl Tallies {
    fn new(attributes: &ProfileAttributes) -> Tallies {
        Tallies(vec![HashMap::new(); attributes.names().len()])
    }

    fn row(&mut self, attributes: &ProfileAttributes, a: usize, user: u32) -> &mut ValueUsage {
        self.0[a].entry(attributes.value(a, user)).or_default()
    }

    fn into_breakdown(self, attributes: &ProfileAttributes) -> Breakdown {
        let mut out = Breakdown::new();
        for (a, tally) in self.0.into_iter().enumerate() {
            let mut rows: Vec<ValueUsage> =
                tally.into_iter().map(|(v, row)| ValueUsage { value: attributes.text(v).to_string(), ..row }).collect();
            sort(&mut rows);
            out.insert(attributes.names()[a].clone(), rows);
        }
        out
    }
}

/// Most seats first, then most active users, then by value.
fn sort(rows: &mut [ValueUsage]) {
    rows.sort_by(|x, y| {
        y.seats.cmp(&x.seats).then(y.active_users.cmp(&x.active_users)).then_with(|| x.value.cmp(&y.value))
    });
}

/// One app's breakdown: its seat holders and the users active in it since `start_ms`.
pub(crate) fn app_breakdown(state: &OrgState, app: &str, holders: &[u32], start_ms: i64) -> Breakdown {
    let Some(attributes) = state.directory.attributes() else {
        return Breakdown::new();
    };
    let mut t = Tallies::new(attributes);
    for a in 0..attributes.names().len() {
        for &user in holders {
            let unused = !state.usage.active(app, user, start_ms);
            let row = t.row(attributes, a, user);
            row.seats += 1;
            row.unused_seats += u64::from(unused);
        }
        for user in state.usage.active_in(app, start_ms) {
            t.row(attributes, a, user).active_users += 1;
        }
    }
    t.into_breakdown(attributes)
}

/// The org's breakdown: seats and unused seats summed over the apps' breakdowns, active users the
/// distinct users active in any inventory app since `start_ms`.
pub(crate) fn org_breakdown<'a>(
    state: &OrgState,
    apps: impl Iterator<Item = &'a Breakdown>,
    start_ms: i64,
) -> Breakdown {
    let Some(attributes) = state.directory.attributes() else {
        return Breakdown::new();
    };
    let mut t = Tallies::new(attributes);
    let active = state.usage.active_set(start_ms, |id| state.in_inventory(id));
    for a in 0..attributes.names().len() {
        for &user in &active {
            t.row(attributes, a, user).active_users += 1;
        }
    }
    let mut out = t.into_breakdown(attributes);
    for app in apps {
        for (name, rows) in app {
            let org_rows = out.entry(name.clone()).or_default();
            for r in rows {
                let at = match org_rows.iter().position(|o| o.value == r.value) {
                    Some(i) => i,
                    None => {
                        org_rows.push(ValueUsage { value: r.value.clone(), ..ValueUsage::default() });
                        org_rows.len() - 1
                    }
                };
                org_rows[at].seats += r.seats;
                org_rows[at].unused_seats += r.unused_seats;
            }
        }
    }
    out.values_mut().for_each(|rows| sort(rows));
    out
}

/// The first `n` values of each attribute and, past them, one `other` row summing the rest.
pub(crate) fn top(breakdown: &Breakdown, n: usize) -> Breakdown {
    breakdown
        .iter()
        .map(|(name, rows)| {
            let mut kept: Vec<ValueUsage> = rows.iter().take(n).cloned().collect();
            if rows.len() > n {
                let mut other =
                    ValueUsage { value: format!("({} more)", rows.len() - n), other: true, ..Default::default() };
                for r in &rows[n..] {
                    other.seats = other.seats.saturating_add(r.seats);
                    other.active_users = other.active_users.saturating_add(r.active_users);
                    other.unused_seats = other.unused_seats.saturating_add(r.unused_seats);
                }
                kept.push(other);
            }
            (name.clone(), kept)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: &str, seats: u64) -> ValueUsage {
        ValueUsage { value: value.into(), seats, active_users: seats / 2, unused_seats: 1, other: false }
    }

    #[test]
    fn top_keeps_n_and_sums_the_rest_into_one_other_row() {
        let b = Breakdown::from([("department".to_string(), vec![row("A", 9), row("B", 5), row("C", 3), row("", 2)])]);
        let t = top(&b, 2);
        let rows = &t["department"];
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[2],
            ValueUsage { value: "(2 more)".into(), other: true, seats: 5, active_users: 2, unused_seats: 2 }
        );
        assert_eq!(top(&b, 20), b, "nothing to sum");
    }
}
