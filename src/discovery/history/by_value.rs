//! A month's active users per value of each breakdown attribute (spec.breakdown.attributes). A closed
//! month keeps each user under the value they had when it closed (the first sync an hour after its end):
//! chargeback asks which team used it then, and a later move to another department does not rewrite past
//! months. A month still open counts each user under the value they have now. The values of one attribute
//! partition the month's active users, so they add up to its `activeUsers`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::discovery::attributes::ProfileAttributes;

/// One attribute's distinct users per value, sorted by value ("" for users without it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AttributeCounts {
    pub(crate) attribute: Box<str>,
    pub(crate) values: Vec<(Box<str>, u64)>,
}

/// A closed month's counts, one entry per attribute configured when it closed.
pub(crate) type ValueCounts = Vec<AttributeCounts>;

/// `users`' (distinct) counts per value of each of `attributes`.
pub(crate) fn count(attributes: &ProfileAttributes, users: &[u32]) -> ValueCounts {
    (0..attributes.names().len())
        .map(|a| {
            let mut by_value: HashMap<u32, u64> = HashMap::new();
            for &user in users {
                *by_value.entry(attributes.value(a, user)).or_default() += 1;
            }
            let mut values: Vec<(Box<str>, u64)> =
                by_value.into_iter().map(|(v, n)| (attributes.text(v).into(), n)).collect();
            values.sort();
            AttributeCounts { attribute: attributes.names()[a].as_str().into(), values }
        })
        .collect()
}

/// One value's active users in a month, as the contract shows it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MonthValue {
    pub(crate) value: String,
    /// The row summing the values past a top N (status keeps the top 20).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) other: bool,
    pub(crate) active_users: u64,
}

/// Per attribute, the month's values, most active users first.
pub(crate) type MonthBreakdown = BTreeMap<String, Vec<MonthValue>>;

/// The contract's view of `counts`, for the attributes configured now (`names`).
pub(crate) fn view(counts: &ValueCounts, names: &[String]) -> MonthBreakdown {
    counts
        .iter()
        .filter(|c| names.iter().any(|n| **n == *c.attribute))
        .map(|c| {
            let mut rows: Vec<MonthValue> = c
                .values
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(v, n)| MonthValue { value: v.to_string(), other: false, active_users: *n })
                .collect();
            rows.sort_by(|x, y| y.active_users.cmp(&x.active_users).then_with(|| x.value.cmp(&y.value)));
            (c.attribute.to_string(), rows)
        })
        .collect()
}

/// The first `n` values of each attribute and, past them, one `other` row summing the rest.
pub(crate) fn top(breakdown: &MonthBreakdown, n: usize) -> MonthBreakdown {
    breakdown
        .iter()
        .map(|(name, rows)| {
            let mut kept: Vec<MonthValue> = rows.iter().take(n).cloned().collect();
            if rows.len() > n {
                let active_users = rows[n..].iter().fold(0u64, |sum, r| sum.saturating_add(r.active_users));
                kept.push(MonthValue { value: format!("({} more)", rows.len() - n), other: true, active_users });
            }
            (name.clone(), kept)
        })
        .collect()
}

/// Whether counts read back from a checkpoint are what [`count`] makes for a month with `active_users`:
/// distinct, valid attribute names, values sorted and distinct, and each attribute's counts summing to
/// the month's active users (the values partition them).
pub(crate) fn consistent(counts: &ValueCounts, active_users: u64) -> bool {
    let names_ok = counts.iter().enumerate().all(|(i, c)| {
        crate::discovery::attributes::valid_name(&c.attribute)
            && !counts[..i].iter().any(|d| d.attribute == c.attribute)
    });
    names_ok
        && counts.len() <= crate::discovery::attributes::MAX_ATTRIBUTES
        && counts.iter().all(|c| {
            c.values.windows(2).all(|w| w[0].0 < w[1].0)
                && c.values.iter().all(|(v, n)| *n > 0 && crate::text::field(v) == **v)
                && c.values.iter().try_fold(0u64, |sum, (_, n)| sum.checked_add(*n)) == Some(active_users)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(values: &[(&str, u64)]) -> ValueCounts {
        vec![AttributeCounts {
            attribute: "department".into(),
            values: values.iter().map(|(v, n)| ((*v).into(), *n)).collect(),
        }]
    }

    #[test]
    fn counts_partition_the_users_by_their_value() {
        let names = vec!["department".to_string()];
        let mut a = ProfileAttributes::new(&names, 4);
        let profile = |d: &str| serde_json::value::RawValue::from_string(format!("{{\"department\":\"{d}\"}}"));
        for (user, d) in [(0, "Sales"), (1, "Sales"), (2, "R&D")] {
            a.set(user, profile(d).ok().as_deref());
        }
        let got = count(&a, &[0, 1, 2, 3]);
        assert_eq!(got, counts(&[("", 1), ("R&D", 1), ("Sales", 2)]));
        assert!(consistent(&got, 4));
        assert!(!consistent(&got, 5), "must add up to the month's active users");
        let rows = &view(&got, &names)["department"];
        assert_eq!(rows.iter().map(|r| r.value.as_str()).collect::<Vec<_>>(), ["Sales", "", "R&D"]);
        assert!(view(&got, &["costCenter".to_string()]).is_empty(), "only attributes configured now");
    }

    #[test]
    fn read_back_counts_must_be_what_count_makes() {
        assert!(!consistent(&counts(&[("B", 1), ("A", 1)]), 2), "unsorted");
        assert!(!consistent(&counts(&[("A", 0), ("B", 2)]), 2), "a zero count");
        assert!(!consistent(&counts(&[("A\u{202e}", 2)]), 2), "uncleaned text");
        let mut twice = counts(&[("A", 2)]);
        twice.push(twice[0].clone());
        assert!(!consistent(&twice, 2), "an attribute twice");
        assert!(!consistent(&counts(&[("A", u64::MAX), ("B", 2)]), 1), "an overflowing sum");
    }

    #[test]
    fn top_sums_the_rest_into_one_other_row() {
        let b = view(&counts(&[("A", 5), ("B", 3), ("C", 2)]), &["department".to_string()]);
        let t = &top(&b, 1)["department"];
        assert_eq!(t[1], MonthValue { value: "(2 more)".into(), other: true, active_users: 5 });
    }
}
