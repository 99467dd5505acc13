//! Reading a checkpoint as untrusted input: decompressed as a stream under a budget of decoded bytes (no
//! count may promise more elements than the budget has bytes left, so memory follows the budget), the key
//! compared before anything else is read, every time no later than now plus a little skew, the cursor on
//! the org's own System Log, ids and text through the validators and cleaning Okta's answers get, and
//! each sorted column required in order, so decoding is one linear pass.

use std::collections::BTreeMap;
use std::io::BufRead;

use url::Url;

mod history;

use super::{CheckpointError, Expect, FIRST_READABLE_VERSION, MAGIC, VERSION};
use crate::discovery::assignments::Assignments;
use crate::discovery::attributes::{MAX_ATTRIBUTES, ProfileAttributes};
use crate::discovery::compact::{FLAG_BITS, Hourly};
use crate::discovery::directory::{Directory, UserRecord, UserStatus, valid_user_id};
use crate::discovery::inventory::{AppKind, AppRecord};
use crate::discovery::state::{AppEntry, OrgState, StateKey};
use crate::discovery::usage::{AppUsage, UsageLedger};

type Res<T> = Result<T, CheckpointError>;

/// How far past now a saved time may be (clocks of replicas and of Okta differ a little).
pub(crate) const CLOCK_SKEW_MS: i64 = 5 * 60_000;
const HOUR_MS: i64 = 3_600_000;
/// The System Log's path: the only place a saved cursor may point (Okta: System Log API).
const LOG_PATH: &str = "/api/v1/logs";

struct Reader<'e, S: BufRead> {
    src: S,
    /// Decoded bytes still allowed.
    budget: u64,
    expect: &'e Expect<'e>,
}

impl<S: BufRead> Reader<'_, S> {
    fn byte(&mut self) -> Res<u8> {
        if self.budget == 0 {
            return Err(CheckpointError::TooLarge);
        }
        let buf =
            self.src.fill_buf().map_err(|_| CheckpointError::Corrupt("not a gzip stream, or its checksum fails"))?;
        let &b = buf.first().ok_or(CheckpointError::Corrupt("truncated"))?;
        self.src.consume(1);
        self.budget -= 1;
        Ok(b)
    }

    fn u64(&mut self) -> Res<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CheckpointError::Corrupt("a varint is too long"))
    }

    /// A count of elements that each take at least one byte: never more than the budget left.
    fn count(&mut self) -> Res<usize> {
        let n = self.u64()?;
        if n > self.budget {
            return Err(CheckpointError::TooLarge);
        }
        usize::try_from(n).map_err(|_| CheckpointError::TooLarge)
    }

    fn i64(&mut self) -> Res<i64> {
        let v = self.u64()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn u32(&mut self) -> Res<u32> {
        u32::try_from(self.u64()?).map_err(|_| CheckpointError::Corrupt("a number out of range"))
    }

    fn str(&mut self) -> Res<String> {
        let n = self.count()?;
        let mut bytes = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            bytes.push(self.byte()?);
        }
        String::from_utf8(bytes).map_err(|_| CheckpointError::Corrupt("text that is not UTF-8"))
    }

    fn opt_i64(&mut self) -> Res<Option<i64>> {
        Ok(match self.byte()? {
            0 => None,
            1 => Some(self.i64()?),
            _ => return Err(CheckpointError::Corrupt("an unknown marker")),
        })
    }

    /// A time in milliseconds: not before 1970, not later than now plus the skew.
    fn time(&self, ms: i64) -> Res<i64> {
        if ms < 0 {
            return Err(CheckpointError::Invalid("a time before 1970"));
        }
        if ms > self.expect.now_ms.saturating_add(CLOCK_SKEW_MS) {
            return Err(CheckpointError::Invalid("a time later than now (a future time would freeze the counts)"));
        }
        Ok(ms)
    }

    fn opt_time(&mut self) -> Res<Option<i64>> {
        self.opt_i64()?.map(|t| self.time(t)).transpose()
    }

    /// Everything has been read and the gzip stream ends here (its checksum is checked at its end).
    fn end(&mut self) -> Res<()> {
        let rest =
            self.src.fill_buf().map_err(|_| CheckpointError::Corrupt("not a gzip stream, or its checksum fails"))?;
        if rest.is_empty() { Ok(()) } else { Err(CheckpointError::Corrupt("trailing bytes")) }
    }
}

fn read_key<S: BufRead>(r: &mut Reader<'_, S>) -> Res<StateKey> {
    let origin = r.str()?;
    let window_days = r.u32()?;
    let n = r.count()?;
    let event_types = (0..n).map(|_| r.str()).collect::<Res<Vec<_>>>()?;
    let include_okta_apps = r.byte()? != 0;
    let history = r.byte()? != 0;
    Ok(StateKey { origin, window_days, event_types, include_okta_apps, history })
}

/// The saved System Log position, only on the org's own origin and System Log path.
fn read_cursor<S: BufRead>(r: &mut Reader<'_, S>, origin: &str) -> Res<Option<Url>> {
    if r.byte()? == 0 {
        return Ok(None);
    }
    let url = Url::parse(&r.str()?).map_err(|_| CheckpointError::Invalid("a System Log position that is not a URL"))?;
    let own = url.origin().ascii_serialization() == origin
        && url.path() == LOG_PATH
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none();
    if !own {
        return Err(CheckpointError::Invalid("a System Log position outside the org's /api/v1/logs"));
    }
    Ok(Some(url))
}

/// Strictly ascending user indices below `limit`.
fn read_users<S: BufRead>(r: &mut Reader<'_, S>, limit: usize) -> Res<Vec<u32>> {
    let n = r.count()?;
    let mut out = Vec::with_capacity(n.min(1 << 20));
    let mut last: Option<u32> = None;
    for _ in 0..n {
        let gap = r.u32()?;
        let user = match last {
            None => Some(gap),
            Some(l) if gap > 0 => l.checked_add(gap),
            Some(_) => None,
        };
        let user = user
            .filter(|u| (*u as usize) < limit)
            .ok_or(CheckpointError::Corrupt("a user index out of order or range"))?;
        out.push(user);
        last = Some(user);
    }
    Ok(out)
}

/// The breakdown's attributes, if the state kept any.
fn read_attributes<S: BufRead>(r: &mut Reader<'_, S>, users: usize) -> Res<Option<ProfileAttributes>> {
    let n = r.count()?;
    if n == 0 {
        return Ok(None);
    }
    let bad = CheckpointError::Invalid("profile attributes that are not what the operator writes");
    if n > MAX_ATTRIBUTES {
        return Err(bad);
    }
    let names = (0..n).map(|_| r.str()).collect::<Res<Vec<String>>>()?;
    let count = r.count()?;
    if count > users.saturating_add(1).saturating_mul(MAX_ATTRIBUTES) {
        return Err(bad);
    }
    let values = (0..count).map(|_| r.str()).collect::<Res<Vec<String>>>()?;
    let mut columns = Vec::with_capacity(n);
    for _ in 0..n {
        columns.push((0..users).map(|_| r.u32()).collect::<Res<Vec<u32>>>()?);
    }
    ProfileAttributes::from_parts(names, values, columns, users).map(Some).ok_or(bad)
}

fn read_directory<S: BufRead>(r: &mut Reader<'_, S>) -> Res<Directory> {
    let mut directory = Directory::default();
    for _ in 0..r.count()? {
        let id = r.str()?;
        if !valid_user_id(&id) {
            return Err(CheckpointError::Invalid("a user id that is not an Okta id"));
        }
        let status = UserStatus::from_code(r.byte()?);
        directory.set(&UserRecord { id, status, login: None, profile: None });
    }
    Ok(directory)
}

fn kind_of(code: u8) -> Res<AppKind> {
    match code {
        0 => Ok(AppKind::Saas),
        1 => Ok(AppKind::OktaOwn),
        2 => Ok(AppKind::ServiceClient),
        _ => Err(CheckpointError::Corrupt("an unknown app kind")),
    }
}

fn read_assignments<S: BufRead>(r: &mut Reader<'_, S>, users: usize) -> Res<Option<Assignments>> {
    if r.byte()? == 0 {
        return Ok(None);
    }
    let list = read_users(r, users)?;
    let mut codes = Vec::with_capacity(list.len());
    for _ in 0..list.len() {
        codes.push(r.byte()?);
    }
    let mut times = Vec::with_capacity(list.len());
    for _ in 0..list.len() {
        times.push(r.u32()?);
    }
    Assignments::from_columns(list, codes, times).map(Some).ok_or(CheckpointError::Corrupt("assignments out of order"))
}

fn read_app<S: BufRead>(r: &mut Reader<'_, S>, users: usize) -> Res<AppEntry> {
    let (id, name, label, status, sign_on_mode) = (r.str()?, r.str()?, r.str()?, r.str()?, r.str()?);
    let kind = kind_of(r.byte()?)?;
    // The same checks and cleaning as an app from Okta's listing.
    let mut record = AppRecord::checked(&id, &name, Some(&label), &status, Some(&sign_on_mode), None)
        .map_err(CheckpointError::Invalid)?;
    record.kind = kind;
    let listed_ms = r.i64()?;
    let first_seen_ms = r.i64()?;
    let (listed_ms, first_seen_ms) = (r.time(listed_ms)?, r.time(first_seen_ms)?);
    let n = r.count()?;
    let mut groups = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let g = r.str()?;
        if !crate::discovery::assignments::valid_group_id(&g) {
            return Err(CheckpointError::Invalid("a group id that is not an Okta id"));
        }
        groups.push(g);
    }
    let assignments = read_assignments(r, users)?;
    Ok(AppEntry { record, assignments, groups, listed_ms, first_seen_ms })
}

/// Sign-ins per hour, hours strictly ascending (as written) and not in the future.
fn read_hours<S: BufRead>(r: &mut Reader<'_, S>) -> Res<Hourly> {
    let n = r.count()?;
    let newest = r.expect.now_ms.saturating_add(CLOCK_SKEW_MS) / HOUR_MS;
    let mut hours = Vec::with_capacity(n.min(1 << 16));
    let mut hour = 0i64;
    for i in 0..n {
        let step = r.i64()?;
        if i > 0 && step <= 0 {
            return Err(CheckpointError::Corrupt("hours out of order"));
        }
        hour = hour.checked_add(step).ok_or(CheckpointError::Corrupt("an hour out of range"))?;
        if hour < 0 || hour > newest {
            return Err(CheckpointError::Invalid("an hour later than now, or before 1970"));
        }
        let count = u32::try_from(r.u64()?).map_err(|_| CheckpointError::Corrupt("a count out of range"))?;
        hours.push((hour as u32, count));
    }
    Ok(Hourly::from_sorted(hours))
}

fn read_app_usage<S: BufRead>(r: &mut Reader<'_, S>, users: usize) -> Res<AppUsage> {
    let list = read_users(r, users)?;
    let base = r.i64()?;
    let mut pairs = Vec::with_capacity(list.len());
    for u in list {
        let at = base.checked_add_unsigned(r.u64()?).ok_or(CheckpointError::Corrupt("a time out of range"))?;
        pairs.push((u, r.time(at)?, 0));
    }
    for pair in &mut pairs {
        pair.2 = r.u32()?;
        if pair.2 & !FLAG_BITS != 0 {
            return Err(CheckpointError::Corrupt("unknown flags"));
        }
    }
    let mut app = AppUsage { last_seen: pairs.into_iter().collect(), hourly: read_hours(r)?, ..AppUsage::default() };
    app.last_used_ms = r.opt_time()?;
    Ok(app)
}

fn read_usage<S: BufRead>(r: &mut Reader<'_, S>, users: usize) -> Res<UsageLedger> {
    let mut ledger = UsageLedger::default();
    for _ in 0..r.count()? {
        let id = r.str()?;
        if !crate::discovery::inventory::valid_app_id(&id) {
            return Err(CheckpointError::Invalid("an app id that is not an Okta id"));
        }
        let app = read_app_usage(r, users)?;
        ledger.apps.insert(id.into_boxed_str(), app);
    }
    for _ in 0..r.count()? {
        let mut b = [0u8; 8];
        for byte in &mut b {
            *byte = r.byte()?;
        }
        ledger.recent.insert(u64::from_le_bytes(b));
    }
    Ok(ledger)
}

/// A state from a decompressed stream, checked against what the caller expects.
pub(super) fn read_state<S: BufRead>(src: S, budget: u64, expect: &Expect<'_>) -> Res<OrgState> {
    let mut r = Reader { src, budget, expect };
    let magic = [r.byte()?, r.byte()?, r.byte()?, r.byte()?];
    if &magic != MAGIC {
        return Err(CheckpointError::Corrupt("not a dti-operator checkpoint"));
    }
    let version = r.byte()?;
    if !(FIRST_READABLE_VERSION..=VERSION).contains(&version) {
        return Err(CheckpointError::Incompatible(version));
    }
    // Another usage window, or history turned on or off, still keeps the history: the engine starts the
    // rest afresh.
    let key = read_key(&mut r)?;
    if !key.same_history(expect.key) {
        return Err(CheckpointError::OtherSettings);
    }
    let cursor = read_cursor(&mut r, &key.origin)?;
    let (assignments_listed_ms, users_listed_ms) = (r.opt_time()?, r.opt_time()?);
    let observed_since_ms = r.opt_time()?;
    let directory = read_directory(&mut r)?;
    let users = directory.len();
    let mut apps = BTreeMap::new();
    for _ in 0..r.count()? {
        let entry = read_app(&mut r, users)?;
        apps.insert(entry.record.id.clone(), entry);
    }
    let usage = read_usage(&mut r, users)?;
    let mut history = history::read_history(&mut r)?;
    history::check_flags(&history, &usage)?;
    let mut directory = directory;
    if let Some(attributes) = read_attributes(&mut r, users)? {
        directory.restore_attributes(attributes);
    }
    if version >= 5 {
        history::read_by_value(&mut r, &mut history)?; // version 4 had none: an upgrade keeps its history
    }
    r.end()?;
    Ok(OrgState {
        key,
        cursor,
        directory,
        apps,
        usage,
        history,
        assignments_listed_ms,
        users_listed_ms,
        observed_since_ms,
        exemptions: Default::default(),
    })
}
