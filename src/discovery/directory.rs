//! The org's users as the sync knows them: each Okta user id interned once as a small index (usage and
//! assignments refer to users by index), with the user's status, and the login only when a per-user
//! export asks for it. Users that nothing refers to any more are compacted away.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::attributes::ProfileAttributes;
use super::records::{Record, required};
use crate::text;

/// A user's Okta status (Okta's UserStatus enum), stored as a byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum UserStatus {
    Active,
    Deprovisioned,
    LockedOut,
    PasswordExpired,
    Provisioned,
    Recovery,
    Staged,
    Suspended,
    /// A status outside the spec's enum.
    Other,
    /// Seen only in the System Log or an assignment, never in a users listing (or deleted since).
    Unlisted,
}

impl UserStatus {
    pub(crate) const ALL: [UserStatus; 10] = [
        UserStatus::Active,
        UserStatus::Deprovisioned,
        UserStatus::LockedOut,
        UserStatus::PasswordExpired,
        UserStatus::Provisioned,
        UserStatus::Recovery,
        UserStatus::Staged,
        UserStatus::Suspended,
        UserStatus::Other,
        UserStatus::Unlisted,
    ];

    pub(crate) fn parse(text: &str) -> UserStatus {
        match text {
            "ACTIVE" => UserStatus::Active,
            "DEPROVISIONED" => UserStatus::Deprovisioned,
            "LOCKED_OUT" => UserStatus::LockedOut,
            "PASSWORD_EXPIRED" => UserStatus::PasswordExpired,
            "PROVISIONED" => UserStatus::Provisioned,
            "RECOVERY" => UserStatus::Recovery,
            "STAGED" => UserStatus::Staged,
            "SUSPENDED" => UserStatus::Suspended,
            _ => UserStatus::Other,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "ACTIVE",
            UserStatus::Deprovisioned => "DEPROVISIONED",
            UserStatus::LockedOut => "LOCKED_OUT",
            UserStatus::PasswordExpired => "PASSWORD_EXPIRED",
            UserStatus::Provisioned => "PROVISIONED",
            UserStatus::Recovery => "RECOVERY",
            UserStatus::Staged => "STAGED",
            UserStatus::Suspended => "SUSPENDED",
            UserStatus::Other => "OTHER",
            UserStatus::Unlisted => "UNLISTED",
        }
    }

    pub(crate) fn code(self) -> u8 {
        UserStatus::ALL.iter().position(|s| *s == self).unwrap_or(9) as u8
    }

    pub(crate) fn from_code(code: u8) -> UserStatus {
        UserStatus::ALL.get(code as usize).copied().unwrap_or(UserStatus::Unlisted)
    }

    /// What `GET /api/v1/users` returns without a filter: every user but DEPROVISIONED ones.
    pub(crate) fn listed_by_default(self) -> bool {
        !matches!(self, UserStatus::Deprovisioned | UserStatus::Unlisted)
    }
}

/// A user as a users listing returns it.
#[derive(Deserialize)]
pub(crate) struct RawUser {
    id: Option<String>,
    status: Option<String>,
    /// Kept as sent: the login is read from it, and the breakdown's attributes when configured.
    profile: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct RawProfile {
    login: Option<String>,
}

pub(crate) struct UserRecord {
    pub(crate) id: String,
    pub(crate) status: UserStatus,
    pub(crate) login: Option<String>,
    pub(crate) profile: Option<Box<RawValue>>,
}

/// A user id as Okta gives it: not blank, at most 100 bytes, no control characters (the one rule for
/// users from Okta and from a checkpoint).
pub(crate) fn valid_user_id(id: &str) -> bool {
    !id.trim().is_empty() && id.len() <= 100 && !id.chars().any(char::is_control)
}

impl Record for RawUser {
    type Checked = UserRecord;
    fn check(self) -> Result<UserRecord, &'static str> {
        let id = required(&self.id, "a user without an id")?;
        if !valid_user_id(id) {
            return Err("a user id that is not an Okta id");
        }
        let status = required(&self.status, "a user without a status")?;
        let login = self.profile.as_ref().and_then(|p| serde_json::from_str::<RawProfile>(p.get()).ok());
        Ok(UserRecord {
            id: id.to_string(),
            status: UserStatus::parse(status),
            login: login.and_then(|p| p.login).map(|l| text::field(&l)),
            profile: self.profile,
        })
    }
}

/// Interned users. The ids are kept end to end in one string, and the index holds only user numbers
/// (hashed by the id they point at): about 30 bytes a user instead of two boxed copies of each id and a
/// map of them (about 130).
#[derive(Debug, Default, Clone)]
pub(crate) struct Directory {
    text: String,
    ends: Vec<usize>,
    index: HashTable<u32>,
    hasher: RandomState,
    status: Vec<UserStatus>,
    logins: Option<Vec<Option<Box<str>>>>,
    /// The breakdown's profile attributes, when configured.
    attributes: Option<ProfileAttributes>,
}

/// The id of user `i` in `text` cut at `ends`.
fn id_in<'a>(text: &'a str, ends: &[usize], i: u32) -> &'a str {
    let i = i as usize;
    let start = if i == 0 { 0 } else { ends.get(i - 1).copied().unwrap_or(0) };
    ends.get(i).and_then(|&end| text.get(start..end)).unwrap_or("")
}

/// Equal when they hold the same users in the same order (the index is derived from them; attributes,
/// like the checkpoint, are left out).
impl PartialEq for Directory {
    fn eq(&self, other: &Directory) -> bool {
        self.text == other.text && self.ends == other.ends && self.status == other.status && self.logins == other.logins
    }
}

impl Eq for Directory {}

impl Directory {
    /// Heap bytes held, approximately (for the operator's bounded state cache).
    pub(crate) fn heap_bytes(&self) -> usize {
        let logins =
            self.logins.as_ref().map_or(0, |l| l.capacity() * 16 + l.iter().flatten().map(|s| s.len()).sum::<usize>());
        self.text.capacity()
            + self.ends.capacity() * 8
            + self.status.capacity()
            + self.index.capacity() * 5
            + logins
            + self.attributes.as_ref().map_or(0, ProfileAttributes::heap_bytes)
    }

    /// Whether logins are kept.
    pub(crate) fn keeps_logins(&self) -> bool {
        self.logins.is_some()
    }

    /// The attributes kept (none unless a breakdown asks).
    pub(crate) fn attribute_names(&self) -> &[String] {
        self.attributes.as_ref().map_or(&[], |a| a.names())
    }

    /// Keeps exactly `names` (their values none until users are listed); none drops them.
    pub(crate) fn keep_attributes(&mut self, names: &[String]) {
        self.attributes = (!names.is_empty()).then(|| ProfileAttributes::new(names, self.len()));
    }

    pub(crate) fn attributes(&self) -> Option<&ProfileAttributes> {
        self.attributes.as_ref()
    }

    /// Attributes read back from a checkpoint (already checked against this directory's size).
    pub(crate) fn restore_attributes(&mut self, attributes: ProfileAttributes) {
        self.attributes = Some(attributes);
    }

    /// Keeps each user's login too (for the per-user export).
    pub(crate) fn keep_logins(&mut self) {
        if self.logins.is_none() {
            self.logins = Some(vec![None; self.len()]);
        }
    }

    /// The index of a user id, interning it (as Unlisted) when new.
    pub(crate) fn intern(&mut self, id: &str) -> u32 {
        if let Some(i) = self.find(id) {
            return i;
        }
        let i = self.ends.len() as u32;
        self.text.push_str(id);
        self.ends.push(self.text.len());
        let Directory { text, ends, index, hasher, .. } = self;
        index.insert_unique(hasher.hash_one(id), i, |&j| hasher.hash_one(id_in(text, ends, j)));
        self.status.push(UserStatus::Unlisted);
        if let Some(logins) = self.logins.as_mut() {
            logins.push(None);
        }
        if let Some(a) = self.attributes.as_mut() {
            a.push();
        }
        i
    }

    pub(crate) fn find(&self, id: &str) -> Option<u32> {
        self.index.find(self.hasher.hash_one(id), |&i| self.id(i) == id).copied()
    }

    pub(crate) fn id(&self, user: u32) -> &str {
        id_in(&self.text, &self.ends, user)
    }

    /// A user's status as last listed or looked up.
    pub(crate) fn status(&self, user: u32) -> UserStatus {
        self.status.get(user as usize).copied().unwrap_or(UserStatus::Unlisted)
    }

    pub(crate) fn login(&self, user: u32) -> Option<&str> {
        self.logins.as_ref()?.get(user as usize)?.as_deref()
    }

    /// Records what a listing or a lookup said of a user.
    pub(crate) fn set(&mut self, record: &UserRecord) -> u32 {
        let i = self.intern(&record.id);
        self.status[i as usize] = record.status;
        if let (Some(logins), Some(login)) = (self.logins.as_mut(), &record.login) {
            logins[i as usize] = Some(login.as_str().into());
        }
        if let Some(a) = self.attributes.as_mut() {
            a.set(i, record.profile.as_deref());
        }
        i
    }

    /// A user that no longer exists (a lookup answered 404).
    pub(crate) fn forget(&mut self, user: u32) {
        if let Some(s) = self.status.get_mut(user as usize) {
            *s = UserStatus::Unlisted;
        }
    }

    /// Every known user becomes Unlisted: a full listing sets again those that still exist.
    pub(crate) fn unlist_all(&mut self) {
        self.status.iter_mut().for_each(|s| *s = UserStatus::Unlisted);
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Users by status, without the ones only seen in events.
    pub(crate) fn by_status(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for s in &self.status {
            if *s != UserStatus::Unlisted {
                *out.entry(s.as_str().to_string()).or_default() += 1;
            }
        }
        out
    }

    /// What `GET /api/v1/users` counts: every user but DEPROVISIONED ones.
    pub(crate) fn listed_users(&self) -> u64 {
        self.status.iter().filter(|s| s.listed_by_default()).count() as u64
    }

    /// Drops users that are Unlisted and that `keep` does not want, renumbering the rest; returns the
    /// old index → new index map for the tables that refer to users.
    pub(crate) fn compact(&mut self, keep: impl Fn(u32) -> bool) -> Vec<Option<u32>> {
        let mut remap = vec![None; self.len()];
        let mut next = Directory { logins: self.logins.as_ref().map(|_| Vec::new()), ..Directory::default() };
        for (old, slot) in remap.iter_mut().enumerate() {
            let status = self.status[old];
            if status == UserStatus::Unlisted && !keep(old as u32) {
                continue;
            }
            let new = next.intern(self.id(old as u32));
            next.status[new as usize] = status;
            if let (Some(to), Some(from)) = (next.logins.as_mut(), self.logins.as_ref()) {
                to[new as usize] = from.get(old).cloned().flatten();
            }
            *slot = Some(new);
        }
        next.attributes = self.attributes.take().map(|mut a| {
            a.remap(&remap, next.len());
            a
        });
        *self = next;
        remap
    }

    /// (id, status) of every user, for the checkpoint.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, UserStatus)> {
        (0..self.len() as u32).map(|i| self.id(i)).zip(self.status.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, status: UserStatus) -> UserRecord {
        UserRecord { id: id.into(), status, login: Some(format!("{id}@example.com")), profile: None }
    }

    #[test]
    fn interns_counts_and_compacts() {
        let mut d = Directory::default();
        d.keep_logins();
        let a = d.set(&user("00ua", UserStatus::Active));
        let b = d.set(&user("00ub", UserStatus::Deprovisioned));
        let ghost = d.intern("00ughost");
        let gone = d.intern("00ugone");
        assert_eq!(d.intern("00ua"), a);
        assert_eq!(d.listed_users(), 1);
        assert_eq!(d.by_status().get("DEPROVISIONED"), Some(&1));
        assert!(!d.by_status().contains_key("UNLISTED"));
        let remap = d.compact(|u| u == ghost);
        assert_eq!(remap[a as usize], Some(0));
        assert_eq!(remap[b as usize], Some(1));
        assert_eq!(remap[ghost as usize], Some(2));
        assert_eq!(remap[gone as usize], None);
        assert_eq!(d.len(), 3);
        assert_eq!(d.login(1), Some("00ub@example.com"));
        assert_eq!(d.find("00ugone"), None);
    }
}
