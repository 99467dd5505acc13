//! An app's assignments as `/api/v1/apps/{id}/users` lists them, compactly: sorted user indices packed
//! with the app-user status and the scope, and when each was assigned. Which statuses hold a seat is
//! decided here, once.

use serde::Deserialize;

use super::records::{Record, required};

/// Okta's AppUserStatus (OpenAPI spec 2026.06.3, `AppUserStatus` and its x-enumDescriptions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum AppUserStatus {
    Active,
    Approved,
    Deprovisioned,
    Implicit,
    Imported,
    Inactive,
    Matched,
    Pending,
    Provisioned,
    Revoked,
    Staged,
    Suspended,
    Unassigned,
    Other,
}

impl AppUserStatus {
    const ALL: [AppUserStatus; 14] = [
        AppUserStatus::Active,
        AppUserStatus::Approved,
        AppUserStatus::Deprovisioned,
        AppUserStatus::Implicit,
        AppUserStatus::Imported,
        AppUserStatus::Inactive,
        AppUserStatus::Matched,
        AppUserStatus::Pending,
        AppUserStatus::Provisioned,
        AppUserStatus::Revoked,
        AppUserStatus::Staged,
        AppUserStatus::Suspended,
        AppUserStatus::Unassigned,
        AppUserStatus::Other,
    ];

    pub(crate) fn parse(text: &str) -> AppUserStatus {
        AppUserStatus::ALL.into_iter().find(|s| s.as_str() == text).unwrap_or(AppUserStatus::Other)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AppUserStatus::Active => "ACTIVE",
            AppUserStatus::Approved => "APPROVED",
            AppUserStatus::Deprovisioned => "DEPROVISIONED",
            AppUserStatus::Implicit => "IMPLICIT",
            AppUserStatus::Imported => "IMPORTED",
            AppUserStatus::Inactive => "INACTIVE",
            AppUserStatus::Matched => "MATCHED",
            AppUserStatus::Pending => "PENDING",
            AppUserStatus::Provisioned => "PROVISIONED",
            AppUserStatus::Revoked => "REVOKED",
            AppUserStatus::Staged => "STAGED",
            AppUserStatus::Suspended => "SUSPENDED",
            AppUserStatus::Unassigned => "UNASSIGNED",
            AppUserStatus::Other => "OTHER",
        }
    }

    /// Whether an assignment in this status holds a seat: the user can use the app now or will as soon as
    /// provisioning completes. From Okta's descriptions: ACTIVE ("provisioned and enabled to use the
    /// app"), PROVISIONED ("assigned an externalId successfully"), PENDING ("provisioned, ... moves to
    /// ACTIVE when activated"), STAGED ("background provisioning operation is queued"), APPROVED
    /// ("created but not provisioned", awaiting acknowledgment) and IMPLICIT ("migrated to implicit app
    /// assignment"). Not a seat: INACTIVE and SUSPENDED ("isn't enabled to use the app"), REVOKED
    /// ("disabled and waiting for deprovisioning"), DEPROVISIONED ("removed by the provisioning
    /// operation"), and IMPORTED, MATCHED, UNASSIGNED (records of an import, not assignments).
    pub(crate) fn holds_seat(self) -> bool {
        matches!(
            self,
            AppUserStatus::Active
                | AppUserStatus::Provisioned
                | AppUserStatus::Pending
                | AppUserStatus::Staged
                | AppUserStatus::Approved
                | AppUserStatus::Implicit
        )
    }

    fn code(self) -> u8 {
        AppUserStatus::ALL.iter().position(|s| *s == self).unwrap_or(13) as u8
    }

    fn from_code(code: u8) -> AppUserStatus {
        AppUserStatus::ALL.get((code & 0x7f) as usize).copied().unwrap_or(AppUserStatus::Other)
    }
}

/// How a user is assigned: directly (USER) or through a group (GROUP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    User,
    Group,
}

impl Scope {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scope::User => "USER",
            Scope::Group => "GROUP",
        }
    }
}

/// The checkpoint's code byte: the status code, with this bit for GROUP.
const GROUP_BIT: u8 = 0x80;

/// One row of an app's users listing.
#[derive(Deserialize)]
pub(crate) struct RawAppUser {
    id: Option<String>,
    scope: Option<String>,
    status: Option<String>,
    /// When the user was assigned (AppUser.created in the spec).
    created: Option<String>,
}

pub(crate) struct AppUserRecord {
    pub(crate) user: String,
    pub(crate) scope: Scope,
    pub(crate) status: AppUserStatus,
    /// Seconds since the epoch, or [`UNKNOWN_TIME`].
    pub(crate) assigned_s: u32,
}

/// An assignment time Okta did not give (or one outside u32 seconds): never old enough to reclaim.
pub(crate) const UNKNOWN_TIME: u32 = u32::MAX;

/// Seconds since the epoch of an RFC 3339 time, or [`UNKNOWN_TIME`].
fn seconds_of(text: Option<&str>) -> u32 {
    text.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .and_then(|t| u32::try_from(t.timestamp()).ok())
        .filter(|&s| s != UNKNOWN_TIME)
        .unwrap_or(UNKNOWN_TIME)
}

/// One assignment: user index, grant, app-user status, and when it was assigned (seconds since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) user: u32,
    pub(crate) scope: Scope,
    pub(crate) status: AppUserStatus,
    pub(crate) assigned_s: u32,
}

impl Record for RawAppUser {
    type Checked = AppUserRecord;
    fn check(self) -> Result<AppUserRecord, &'static str> {
        let user = required(&self.id, "an app user without an id")?;
        let status = required(&self.status, "an app user without a status")?;
        Ok(AppUserRecord {
            user: user.to_string(),
            scope: if self.scope.as_deref() == Some("GROUP") { Scope::Group } else { Scope::User },
            status: AppUserStatus::parse(status),
            assigned_s: seconds_of(self.created.as_deref()),
        })
    }
}

/// A group assigned to an app (`/api/v1/apps/{id}/groups`).
#[derive(Deserialize)]
pub(crate) struct RawAppGroup {
    id: Option<String>,
}

impl Record for RawAppGroup {
    type Checked = String;
    fn check(self) -> Result<String, &'static str> {
        let id = required(&self.id, "an app group without an id")?;
        if !valid_group_id(id) {
            return Err("a group id that is not an Okta id");
        }
        Ok(id.to_string())
    }
}

/// A group id as Okta gives it (the same rule as app ids; also for a checkpoint's groups).
pub(crate) fn valid_group_id(id: &str) -> bool {
    crate::discovery::inventory::valid_app_id(id)
}

/// An app's assignments, packed: one varint per row holding the gap to the previous user index (shifted
/// left by five) and a five-bit code (status and scope). Sorted indices make the gaps small: a row costs one
/// to three bytes instead of five, and an xlarge org holds over eleven million rows. Beside it, each row's
/// assignment time in seconds (four bytes: random times do not pack).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Assignments {
    packed: Vec<u8>,
    assigned_s: Vec<u32>,
    len: u32,
}

impl Assignments {
    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.packed.capacity() + self.assigned_s.capacity() * 4
    }
}

const CODE_BITS: u32 = 5;
const SCOPE_BIT: u8 = 0x10;

/// Status and scope in five bits (the status code is below 16).
fn pack_code(scope: Scope, status: AppUserStatus) -> u8 {
    status.code() | if scope == Scope::Group { SCOPE_BIT } else { 0 }
}

fn unpack_code(code: u8) -> (Scope, AppUserStatus) {
    let scope = if code & SCOPE_BIT != 0 { Scope::Group } else { Scope::User };
    (scope, AppUserStatus::from_code(code & (SCOPE_BIT - 1)))
}

/// Builds the packing from rows sorted by strictly increasing user.
#[derive(Default)]
struct Packer {
    out: Assignments,
    last: u32,
}

impl Packer {
    fn push(&mut self, user: u32, code: u8, assigned_s: u32) {
        self.out.assigned_s.push(assigned_s);
        let mut v = (u64::from(user - self.last) << CODE_BITS) | u64::from(code);
        while v >= 0x80 {
            self.out.packed.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.packed.push(v as u8);
        self.out.len += 1;
        self.last = user;
    }

    fn finish(mut self) -> Assignments {
        self.out.packed.shrink_to_fit();
        self.out.assigned_s.shrink_to_fit();
        self.out
    }
}

/// The rows of a packing, in user order, as (user, five-bit code).
struct Unpacker<'a> {
    bytes: &'a [u8],
    last: u32,
}

impl Iterator for Unpacker<'_> {
    type Item = (u32, u8);
    fn next(&mut self) -> Option<(u32, u8)> {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let (&b, rest) = self.bytes.split_first()?;
            self.bytes = rest;
            v |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b < 0x80 {
                break;
            }
        }
        self.last = self.last.wrapping_add((v >> CODE_BITS) as u32);
        Some((self.last, (v as u8) & ((1 << CODE_BITS) - 1)))
    }
}

impl Assignments {
    /// Builds the table from listed rows; a user listed twice counts once (the last row wins).
    pub(crate) fn from_rows(mut rows: Vec<Row>) -> Assignments {
        rows.sort_by_key(|r| r.user);
        Assignments::from_sorted(rows.into_iter().map(|r| (r.user, pack_code(r.scope, r.status), r.assigned_s)))
    }

    /// Packs (user, code, time) rows sorted by user; of repeats the last wins.
    fn from_sorted(rows: impl IntoIterator<Item = (u32, u8, u32)>) -> Assignments {
        let mut packer = Packer::default();
        let mut pending: Option<(u32, u8, u32)> = None;
        for row in rows {
            match pending {
                Some((u, ..)) if u == row.0 => {}
                Some((u, c, t)) => packer.push(u, c, t),
                None => {}
            }
            pending = Some(row);
        }
        if let Some((u, c, t)) = pending {
            packer.push(u, c, t);
        }
        packer.finish()
    }

    /// From the checkpoint's columns (codes with the high bit for GROUP); None when they disagree or are
    /// not sorted.
    pub(crate) fn from_columns(users: Vec<u32>, codes: Vec<u8>, assigned_s: Vec<u32>) -> Option<Assignments> {
        if users.len() != codes.len() || users.len() != assigned_s.len() || !users.windows(2).all(|w| w[0] < w[1]) {
            return None;
        }
        let scope = |c: u8| if c & GROUP_BIT != 0 { Scope::Group } else { Scope::User };
        let rows = users
            .into_iter()
            .zip(codes)
            .zip(assigned_s)
            .map(|((u, c), t)| (u, pack_code(scope(c), AppUserStatus::from_code(c)), t));
        Some(Assignments::from_sorted(rows))
    }

    /// How many users are assigned (in any status).
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// The user indices, ascending.
    pub(crate) fn users(&self) -> impl Iterator<Item = u32> + '_ {
        self.unpack().map(|(u, _)| u)
    }

    /// The checkpoint's code bytes (the high bit for GROUP), in user order.
    pub(crate) fn column_codes(&self) -> impl Iterator<Item = u8> + '_ {
        self.rows().map(|r| r.status.code() | if r.scope == Scope::Group { GROUP_BIT } else { 0 })
    }

    fn unpack(&self) -> Unpacker<'_> {
        Unpacker { bytes: &self.packed, last: 0 }
    }

    pub(crate) fn rows(&self) -> impl Iterator<Item = Row> + '_ {
        self.unpack().zip(self.assigned_s.iter()).map(|((user, c), &assigned_s)| {
            let (scope, status) = unpack_code(c);
            Row { user, scope, status, assigned_s }
        })
    }

    /// Each row's assignment time (the checkpoint's column), in user order.
    pub(crate) fn column_times(&self) -> impl Iterator<Item = u32> + '_ {
        self.assigned_s.iter().copied()
    }

    /// Seat holders' user indices.
    pub(crate) fn seat_holders(&self) -> impl Iterator<Item = u32> + '_ {
        self.rows().filter(|r| r.status.holds_seat()).map(|r| r.user)
    }

    /// Renumbers users after the directory compacted (every user here was kept).
    pub(crate) fn remap(&mut self, remap: &[Option<u32>]) {
        let mut rows: Vec<(u32, u8, u32)> = self
            .unpack()
            .zip(self.assigned_s.iter())
            .filter_map(|((u, c), &t)| Some((remap.get(u as usize).copied().flatten()?, c, t)))
            .collect();
        rows.sort_by_key(|r| r.0);
        *self = Assignments::from_sorted(rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_follow_app_user_status() {
        let holding: Vec<&str> = AppUserStatus::ALL.iter().filter(|s| s.holds_seat()).map(|s| s.as_str()).collect();
        assert_eq!(holding, ["ACTIVE", "APPROVED", "IMPLICIT", "PENDING", "PROVISIONED", "STAGED"]);
        let row = |user, scope, status| Row { user, scope, status, assigned_s: user * 10 };
        let table = Assignments::from_rows(vec![
            row(5, Scope::User, AppUserStatus::Active),
            row(2, Scope::Group, AppUserStatus::Suspended),
            row(9, Scope::Group, AppUserStatus::Provisioned),
            row(5, Scope::Group, AppUserStatus::Active),
            row(7, Scope::User, AppUserStatus::Deprovisioned),
        ]);
        assert_eq!(table.len(), 4);
        assert_eq!(table.seat_holders().count(), 2);
        assert_eq!(table.seat_holders().collect::<Vec<_>>(), vec![5, 9]);
        assert!(table.rows().any(|r| r == row(5, Scope::Group, AppUserStatus::Active)));
        assert_eq!(AppUserStatus::parse("SOMETHING_NEW"), AppUserStatus::Other);
        let mut t = table.clone();
        t.remap(&[None, None, Some(0), None, None, Some(3), None, Some(1), None, Some(2)]);
        assert_eq!(t.users().collect::<Vec<_>>(), [0, 1, 2, 3]);
        let last = Row { user: 3, scope: Scope::Group, status: AppUserStatus::Active, assigned_s: 50 };
        assert_eq!(t.rows().nth(3), Some(last), "the last row of a user wins, and keeps its time");
        assert_eq!(seconds_of(Some("2026-01-02T03:04:05.000Z")), 1_767_323_045);
        assert_eq!(seconds_of(Some("yesterday")), UNKNOWN_TIME);
        assert_eq!(seconds_of(Some("1960-01-01T00:00:00Z")), UNKNOWN_TIME);
    }

    proptest::proptest! {
        #[test]
        fn packed_rows_read_back_as_a_map_would_hold_them(
            rows in proptest::collection::vec((proptest::prelude::any::<u32>(), 0u8..14, proptest::prelude::any::<bool>(), proptest::prelude::any::<u32>()), 0..300),
        ) {
            let rows: Vec<Row> = rows
                .into_iter()
                .map(|(user, c, g, t)| Row { user, scope: if g { Scope::Group } else { Scope::User }, status: AppUserStatus::from_code(c), assigned_s: t })
                .collect();
            let model: std::collections::BTreeMap<u32, Row> = rows.iter().map(|&r| (r.user, r)).collect();
            let table = Assignments::from_rows(rows);
            let expected: Vec<Row> = model.values().copied().collect();
            proptest::prop_assert_eq!(table.rows().collect::<Vec<_>>(), expected);
            proptest::prop_assert_eq!(table.len(), model.len());
            let again = Assignments::from_columns(table.users().collect(), table.column_codes().collect(), table.column_times().collect());
            proptest::prop_assert_eq!(again.as_ref(), Some(&table), "the checkpoint's columns read back");
        }
    }
}
