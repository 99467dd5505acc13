//! Profile attributes for breakdowns (spec.breakdown.attributes): for each configured attribute, one
//! interned value per user (4 bytes a user and attribute; each distinct value held once). Values are
//! Okta text, cleaned and capped as every other field from Okta; a user without the attribute (absent,
//! null, empty, or not a string, number or boolean) has the empty value, shown as "(none)". Kept in the
//! checkpoint (read back as untrusted input: [`ProfileAttributes::from_parts`]); a sync that wants other
//! attributes than the state holds lists the users again.

use std::collections::HashMap;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::text;

/// At most this many attributes (the CRD's and the CLI's limit).
pub(crate) const MAX_ATTRIBUTES: usize = 3;
/// How a user without the attribute shows in tables (its value is empty in JSON and CSV).
pub(crate) const NONE: &str = "(none)";

/// Whether `name` can be an Okta profile attribute name (base or custom: a letter, then letters,
/// digits and underscores; Okta's Universal Directory variable names).
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 50
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ProfileAttributes {
    names: Vec<String>,
    /// Per attribute, per user: an index into `values` (0: none).
    columns: Vec<Vec<u32>>,
    values: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

/// The text of one profile value; None when it is not one a breakdown can group by.
fn value_text(v: &Value) -> Option<String> {
    let raw = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    Some(text::field(&raw)).filter(|t| !t.is_empty())
}

impl ProfileAttributes {
    /// Attributes `names` for `users` users, every value none until listed.
    pub(crate) fn new(names: &[String], users: usize) -> ProfileAttributes {
        ProfileAttributes {
            names: names.to_vec(),
            columns: vec![vec![0; users]; names.len()],
            values: vec!["".into()],
            index: HashMap::from([("".into(), 0)]),
        }
    }

    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// A new user: none for every attribute.
    pub(crate) fn push(&mut self) {
        self.columns.iter_mut().for_each(|c| c.push(0));
    }

    fn intern(&mut self, value: &str) -> u32 {
        if let Some(&i) = self.index.get(value) {
            return i;
        }
        let i = self.values.len() as u32;
        self.values.push(value.into());
        self.index.insert(value.into(), i);
        i
    }

    /// Records `user`'s values from the profile as Okta sent it (an unreadable one leaves none).
    pub(crate) fn set(&mut self, user: u32, profile: Option<&RawValue>) {
        let parsed: Option<serde_json::Map<String, Value>> = profile.and_then(|p| serde_json::from_str(p.get()).ok());
        for a in 0..self.names.len() {
            let value = parsed.as_ref().and_then(|m| m.get(&self.names[a])).and_then(value_text);
            let v = value.map_or(0, |t| self.intern(&t));
            if let Some(slot) = self.columns[a].get_mut(user as usize) {
                *slot = v;
            }
        }
    }

    /// The value of attribute `a` for `user`: its interned number (0: none).
    pub(crate) fn value(&self, a: usize, user: u32) -> u32 {
        self.columns.get(a).and_then(|c| c.get(user as usize)).copied().unwrap_or(0)
    }

    /// The text of an interned value, empty for none (shown as "(none)").
    pub(crate) fn text(&self, v: u32) -> &str {
        self.values.get(v as usize).map_or("", |t| t)
    }

    /// Heap bytes held, approximately: the columns, and each distinct value twice (list and index).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.columns.iter().map(|c| c.capacity() * 4).sum::<usize>()
            + self.values.iter().map(|v| 2 * (v.len() + 16) + 8).sum::<usize>()
    }

    /// The distinct values, none (empty) first.
    pub(crate) fn values(&self) -> &[Box<str>] {
        &self.values
    }

    /// Attribute `a`'s value per user.
    pub(crate) fn column(&self, a: usize) -> &[u32] {
        self.columns.get(a).map_or(&[], Vec::as_slice)
    }

    /// Attributes read back from a checkpoint for `users` users; None when they are not what this
    /// module writes (names, values or indices out of bounds, values not as cleaning leaves them).
    pub(crate) fn from_parts(
        names: Vec<String>,
        values: Vec<String>,
        columns: Vec<Vec<u32>>,
        users: usize,
    ) -> Option<ProfileAttributes> {
        let distinct_names = names.iter().enumerate().all(|(i, n)| !names[..i].contains(n));
        let names_ok = names.len() <= MAX_ATTRIBUTES && distinct_names && names.iter().all(|n| valid_name(n));
        let values_ok = values.first().is_some_and(String::is_empty)
            && values.len() <= users.saturating_add(1).saturating_mul(MAX_ATTRIBUTES)
            && values.iter().skip(1).all(|v| !v.is_empty() && text::field(v) == *v);
        let columns_ok = columns.len() == names.len()
            && columns.iter().all(|c| c.len() == users && c.iter().all(|&v| (v as usize) < values.len()));
        if !(names_ok && values_ok && columns_ok) {
            return None;
        }
        let mut out = ProfileAttributes { names, columns, values: Vec::new(), index: HashMap::new() };
        for v in values {
            if out.index.insert(v.as_str().into(), out.values.len() as u32).is_some() {
                return None; // a value twice
            }
            out.values.push(v.into());
        }
        Some(out)
    }

    /// The columns after the directory compacted (old index → new index).
    pub(crate) fn remap(&mut self, remap: &[Option<u32>], users: usize) {
        for column in &mut self.columns {
            let mut next = vec![0; users];
            for (old, new) in remap.iter().enumerate() {
                if let (Some(new), Some(&v)) = (new, column.get(old)) {
                    next[*new as usize] = v;
                }
            }
            *column = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_string()).expect("json")
    }

    #[test]
    fn values_are_interned_cleaned_and_none_when_unusable() {
        let names = vec!["department".to_string(), "costCenter".to_string()];
        let mut a = ProfileAttributes::new(&names, 3);
        a.set(0, Some(&raw(r#"{"department":"Sales","costCenter":42}"#)));
        a.set(1, Some(&raw(r#"{"department":"Sales\u202e\n","costCenter":null}"#)));
        a.set(2, Some(&raw(r#"{"department":["a"],"costCenter":""}"#)));
        assert_eq!(a.value(0, 0), a.value(0, 1), "one value, interned once");
        assert_eq!(a.text(a.value(0, 1)), "Sales", "cleaned");
        assert_eq!(a.text(a.value(1, 0)), "42");
        assert_eq!((a.text(a.value(1, 1)), a.text(a.value(0, 2)), a.text(a.value(1, 2))), ("", "", ""));
        a.push();
        assert_eq!(a.value(0, 3), 0);
        a.remap(&[None, Some(0), Some(1), None], 2);
        assert_eq!((a.text(a.value(0, 0)), a.text(a.value(0, 1))), ("Sales", ""));
    }

    #[test]
    fn parts_read_back_are_checked() {
        let names = || vec!["department".to_string()];
        let ok = ProfileAttributes::from_parts(names(), vec!["".into(), "Sales".into()], vec![vec![1, 0]], 2);
        assert!(ok.is_some_and(|a| a.text(a.value(0, 0)) == "Sales"));
        type Parts = (Vec<String>, Vec<String>, Vec<Vec<u32>>);
        let cases: [Parts; 5] = [
            (names(), vec!["".into(), "Sales".into()], vec![vec![2, 0]]), // index past the values
            (names(), vec!["Sales".into()], vec![vec![0, 0]]),            // none is not first
            (names(), vec!["".into(), "a\u{202e}b".into()], vec![vec![1, 0]]), // not cleaned
            (names(), vec!["".into(), "x".into(), "x".into()], vec![vec![1, 2]]), // a value twice
            (vec!["a.b".into()], vec!["".into()], vec![vec![0, 0]]),      // not a name
        ];
        for (n, v, c) in cases {
            assert!(ProfileAttributes::from_parts(n.clone(), v.clone(), c.clone(), 2).is_none(), "{n:?} {v:?} {c:?}");
        }
    }

    #[test]
    fn names_are_okta_variable_names() {
        for good in ["department", "costCenter", "cost_center2"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "2fa", "a.b", "a b", "profile.department", &"x".repeat(51)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
