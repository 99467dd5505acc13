//! The sync state as a compact, versioned byte string (the checkpoint): varints and delta-coded sorted
//! user indices, gzip-compressed (its CRC catches a corrupt copy). The operator stores it in the cluster,
//! `dti-operator sync --state FILE` in a file; a checkpoint that does not decode is never half-used.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use url::Url;

use super::assignments::Assignments;
use super::directory::{Directory, UserRecord, UserStatus};
use super::inventory::{AppKind, AppRecord};
use super::state::{AppEntry, OrgState, StateKey};
use super::usage::{AppUsage, UsageLedger};

const MAGIC: &[u8; 4] = b"DTIS";
const VERSION: u8 = 1;
/// Name of this encoding, as the operator records it next to the bytes.
pub(crate) const FORMAT: &str = "dti-sync-state/1+gzip";
/// Largest decoded checkpoint accepted (a decompression bomb stops here).
const MAX_DECODED: u64 = 1 << 30;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum CheckpointError {
    #[error("the checkpoint is corrupt ({0})")]
    Corrupt(&'static str),
    #[error("the checkpoint has version {0}, this operator reads version {VERSION}")]
    Incompatible(u8),
}

/// Bytes compressed as they are written, a chunk at a time, into any sink: the uncompressed checkpoint
/// of a large org (hundreds of MB) never exists in memory at once, and a file sink holds none of it.
struct Writer<W: Write> {
    chunk: Vec<u8>,
    gz: GzEncoder<W>,
    error: Option<std::io::Error>,
}

const CHUNK: usize = 64 * 1024;

impl<W: Write> Writer<W> {
    fn new(sink: W) -> Writer<W> {
        Writer { chunk: Vec::with_capacity(CHUNK), gz: GzEncoder::new(sink, Compression::new(6)), error: None }
    }
    fn byte(&mut self, b: u8) {
        self.chunk.push(b);
        if self.chunk.len() >= CHUNK {
            self.compress_chunk();
        }
    }
    fn bytes(&mut self, b: &[u8]) {
        self.chunk.extend_from_slice(b);
        if self.chunk.len() >= CHUNK {
            self.compress_chunk();
        }
    }
    fn compress_chunk(&mut self) {
        if self.error.is_none()
            && let Err(e) = self.gz.write_all(&self.chunk)
        {
            self.error = Some(e);
        }
        self.chunk.clear();
    }
    fn finish(mut self) -> std::io::Result<W> {
        self.compress_chunk();
        match self.error.take() {
            Some(e) => Err(e),
            None => self.gz.finish(),
        }
    }
    fn u64(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.byte((v as u8) | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }
    fn i64(&mut self, v: i64) {
        self.u64(((v << 1) ^ (v >> 63)) as u64);
    }
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.bytes(s.as_bytes());
    }
    fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            Some(v) => {
                self.byte(1);
                self.i64(v);
            }
            None => self.byte(0),
        }
    }
}

struct Reader<'a>(&'a [u8]);

type R<T> = Result<T, CheckpointError>;

impl Reader<'_> {
    fn byte(&mut self) -> R<u8> {
        let (&b, rest) = self.0.split_first().ok_or(CheckpointError::Corrupt("truncated"))?;
        self.0 = rest;
        Ok(b)
    }
    fn u64(&mut self) -> R<u64> {
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
    fn len(&mut self) -> R<usize> {
        let n = self.u64()?;
        if n > self.0.len() as u64 * 8 + 64 {
            return Err(CheckpointError::Corrupt("a count larger than the data"));
        }
        Ok(n as usize)
    }
    fn i64(&mut self) -> R<i64> {
        let v = self.u64()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
    fn u32(&mut self) -> R<u32> {
        u32::try_from(self.u64()?).map_err(|_| CheckpointError::Corrupt("a number out of range"))
    }
    fn str(&mut self) -> R<String> {
        let n = self.len()?;
        if n > self.0.len() {
            return Err(CheckpointError::Corrupt("truncated"));
        }
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8(s.to_vec()).map_err(|_| CheckpointError::Corrupt("text that is not UTF-8"))
    }
    fn opt_i64(&mut self) -> R<Option<i64>> {
        Ok(match self.byte()? {
            0 => None,
            _ => Some(self.i64()?),
        })
    }
}

fn kind_code(kind: AppKind) -> u8 {
    match kind {
        AppKind::Saas => 0,
        AppKind::OktaOwn => 1,
        AppKind::ServiceClient => 2,
    }
}

fn kind_of(code: u8) -> AppKind {
    match code {
        1 => AppKind::OktaOwn,
        2 => AppKind::ServiceClient,
        _ => AppKind::Saas,
    }
}

fn write_key<W: Write>(w: &mut Writer<W>, key: &StateKey) {
    w.str(&key.origin);
    w.u64(u64::from(key.window_days));
    w.u64(key.event_types.len() as u64);
    key.event_types.iter().for_each(|t| w.str(t));
    w.byte(u8::from(key.include_okta_apps));
}

fn write_users<W: Write>(w: &mut Writer<W>, count: usize, users: impl Iterator<Item = u32>) {
    w.u64(count as u64);
    let mut last = 0u32;
    for u in users {
        w.u64(u64::from(u.wrapping_sub(last)));
        last = u;
    }
}

fn write_app<W: Write>(w: &mut Writer<W>, entry: &AppEntry) {
    let r = &entry.record;
    for s in [&r.id, &r.name, &r.label, &r.status, &r.sign_on_mode] {
        w.str(s);
    }
    w.byte(kind_code(r.kind));
    w.i64(entry.listed_ms);
    w.i64(entry.first_seen_ms);
    w.u64(entry.groups.len() as u64);
    entry.groups.iter().for_each(|g| w.str(g));
    match &entry.assignments {
        Some(a) => {
            w.byte(1);
            write_users(w, a.len(), a.users());
            a.column_codes().for_each(|c| w.byte(c));
        }
        None => w.byte(0),
    }
}

fn write_usage<W: Write>(w: &mut Writer<W>, usage: &UsageLedger) {
    let apps: BTreeMap<&str, &AppUsage> = usage.apps.iter().map(|(k, v)| (&**k, v)).collect();
    w.u64(apps.len() as u64);
    for (id, app) in apps {
        w.str(id);
        let mut pairs: Vec<(u32, i64)> = app.last_seen.iter().collect();
        pairs.sort_unstable();
        write_users(w, pairs.len(), pairs.iter().map(|p| p.0));
        let base = pairs.iter().map(|p| p.1).min().unwrap_or(0);
        w.i64(base);
        pairs.iter().for_each(|p| w.u64((p.1 - base) as u64));
        w.u64(app.hourly.len() as u64);
        let mut last = 0i64;
        for (hour, n) in app.hourly.since(i64::MIN) {
            w.i64(hour - last);
            w.u64(u64::from(n));
            last = hour;
        }
        w.opt_i64(app.last_used_ms);
    }
    let keys: Vec<u64> = usage.recent.keys().collect();
    w.u64(keys.len() as u64);
    keys.iter().for_each(|k| w.bytes(&k.to_le_bytes()));
}

/// Where the operator's checkpoint goes: kept while it fits under the cap, only counted past it (an
/// oversized checkpoint is measured for the warning without being held).
struct Capped {
    kept: Vec<u8>,
    total: usize,
    cap: usize,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.total = self.total.saturating_add(buf.len());
        if self.total <= self.cap {
            self.kept.extend_from_slice(buf);
        } else if self.kept.capacity() > 0 {
            self.kept = Vec::new();
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A checkpoint encoded under a cap: its bytes when they fit, and its compressed size either way.
#[derive(Debug)]
pub(crate) struct Encoded {
    pub(crate) bytes: Option<Vec<u8>>,
    pub(crate) len: usize,
}

/// The state as compressed bytes, kept only when they are at most `cap` long.
pub(crate) fn encode_capped(state: &OrgState, cap: usize) -> std::io::Result<Encoded> {
    let c = write_to(state, Capped { kept: Vec::new(), total: 0, cap })?;
    Ok(Encoded { bytes: (c.total <= c.cap).then_some(c.kept), len: c.total })
}

/// The state as compressed bytes.
#[cfg(test)]
pub(crate) fn encode(state: &OrgState) -> Vec<u8> {
    encode_capped(state, usize::MAX).ok().and_then(|e| e.bytes).unwrap_or_default()
}

/// Writes the state, compressed, into `sink` and hands the sink back.
pub(crate) fn write_to<W: Write>(state: &OrgState, sink: W) -> std::io::Result<W> {
    let mut w = Writer::new(sink);
    w.bytes(MAGIC);
    w.byte(VERSION);
    write_key(&mut w, &state.key);
    match &state.cursor {
        Some(c) => {
            w.byte(1);
            w.str(c.as_str());
        }
        None => w.byte(0),
    }
    w.opt_i64(state.assignments_listed_ms);
    w.opt_i64(state.users_listed_ms);
    w.u64(state.directory.len() as u64);
    for (id, status) in state.directory.entries() {
        w.str(id);
        w.byte(status.code());
    }
    w.u64(state.apps.len() as u64);
    state.apps.values().for_each(|a| write_app(&mut w, a));
    write_usage(&mut w, &state.usage);
    w.finish()
}

fn read_key(r: &mut Reader<'_>) -> R<StateKey> {
    let origin = r.str()?;
    let window_days = r.u32()?;
    let n = r.len()?;
    let event_types = (0..n).map(|_| r.str()).collect::<R<Vec<_>>>()?;
    let include_okta_apps = r.byte()? != 0;
    Ok(StateKey { origin, window_days, event_types, include_okta_apps })
}

fn read_users(r: &mut Reader<'_>, limit: usize) -> R<Vec<u32>> {
    let n = r.len()?;
    let mut out = Vec::with_capacity(n.min(1 << 20));
    let mut last = 0u32;
    for _ in 0..n {
        last = last.wrapping_add(r.u32()?);
        if last as usize >= limit {
            return Err(CheckpointError::Corrupt("a user index out of range"));
        }
        out.push(last);
    }
    Ok(out)
}

fn read_app(r: &mut Reader<'_>, users: usize) -> R<AppEntry> {
    let (id, name, label, status, sign_on_mode) = (r.str()?, r.str()?, r.str()?, r.str()?, r.str()?);
    let kind = kind_of(r.byte()?);
    let (listed_ms, first_seen_ms) = (r.i64()?, r.i64()?);
    let n = r.len()?;
    let groups = (0..n).map(|_| r.str()).collect::<R<Vec<_>>>()?;
    let assignments = match r.byte()? {
        0 => None,
        _ => {
            let list = read_users(r, users)?;
            let mut codes = Vec::with_capacity(list.len());
            for _ in 0..list.len() {
                codes.push(r.byte()?);
            }
            Some(Assignments::from_columns(list, codes).ok_or(CheckpointError::Corrupt("assignments out of order"))?)
        }
    };
    Ok(AppEntry {
        record: AppRecord { id, name, label, status, sign_on_mode, kind },
        assignments,
        groups,
        listed_ms,
        first_seen_ms,
    })
}

fn read_usage(r: &mut Reader<'_>, users: usize) -> R<UsageLedger> {
    let mut ledger = UsageLedger::default();
    for _ in 0..r.len()? {
        let id = r.str()?;
        let list = read_users(r, users)?;
        let base = r.i64()?;
        let mut app = AppUsage::default();
        let mut pairs = Vec::with_capacity(list.len());
        for u in list {
            pairs.push((u, base.saturating_add(r.u64()? as i64)));
        }
        app.last_seen = pairs.into_iter().collect();
        let mut hour = 0i64;
        for _ in 0..r.len()? {
            hour = hour.saturating_add(r.i64()?);
            let n = u32::try_from(r.u64()?).map_err(|_| CheckpointError::Corrupt("a count out of range"))?;
            app.hourly.add(hour, n);
        }
        app.last_used_ms = r.opt_i64()?;
        ledger.apps.insert(id.into_boxed_str(), app);
    }
    for _ in 0..r.len()? {
        let mut b = [0u8; 8];
        for byte in &mut b {
            *byte = r.byte()?;
        }
        ledger.recent.insert(u64::from_le_bytes(b));
    }
    Ok(ledger)
}

/// A state from bytes made by [`encode`].
pub(crate) fn decode(bytes: &[u8]) -> Result<OrgState, CheckpointError> {
    let mut raw = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_DECODED)
        .read_to_end(&mut raw)
        .map_err(|_| CheckpointError::Corrupt("not a gzip stream, or its checksum fails"))?;
    let mut r = Reader(&raw);
    let magic = [r.byte()?, r.byte()?, r.byte()?, r.byte()?];
    if &magic != MAGIC {
        return Err(CheckpointError::Corrupt("not a dti-operator checkpoint"));
    }
    let version = r.byte()?;
    if version != VERSION {
        return Err(CheckpointError::Incompatible(version));
    }
    let key = read_key(&mut r)?;
    let cursor = match r.byte()? {
        0 => None,
        _ => Some(Url::parse(&r.str()?).map_err(|_| CheckpointError::Corrupt("a cursor that is not a URL"))?),
    };
    let (assignments_listed_ms, users_listed_ms) = (r.opt_i64()?, r.opt_i64()?);
    let mut directory = Directory::default();
    for _ in 0..r.len()? {
        let id = r.str()?;
        let status = UserStatus::from_code(r.byte()?);
        directory.set(&UserRecord { id, status, login: None });
    }
    let users = directory.len();
    let mut apps = BTreeMap::new();
    for _ in 0..r.len()? {
        let entry = read_app(&mut r, users)?;
        apps.insert(entry.record.id.clone(), entry);
    }
    let usage = read_usage(&mut r, users)?;
    if !r.0.is_empty() {
        return Err(CheckpointError::Corrupt("trailing bytes"));
    }
    Ok(OrgState { key, cursor, directory, apps, usage, assignments_listed_ms, users_listed_ms })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::assignments::{AppUserStatus, Scope};

    pub(crate) fn sample() -> OrgState {
        let mut s = OrgState::new(StateKey {
            origin: "https://acme.okta.com".into(),
            window_days: 30,
            event_types: vec!["user.authentication.sso".into()],
            include_okta_apps: false,
        });
        s.cursor = Some(Url::parse("https://acme.okta.com/api/v1/logs?after=abc&limit=1000").unwrap()); // ok: test
        s.assignments_listed_ms = Some(1_700_000_000_000);
        s.users_listed_ms = Some(1_700_000_000_001);
        for (i, status) in [UserStatus::Active, UserStatus::Suspended, UserStatus::Unlisted].iter().enumerate() {
            s.directory.set(&UserRecord { id: format!("00u{i}"), status: *status, login: None });
        }
        s.apps.insert(
            "0oa1".into(),
            AppEntry {
                record: AppRecord {
                    id: "0oa1".into(),
                    name: "slack".into(),
                    label: "Slack ✓".into(),
                    status: "ACTIVE".into(),
                    sign_on_mode: "SAML_2_0".into(),
                    kind: AppKind::Saas,
                },
                assignments: Some(Assignments::from_rows(vec![
                    (0, Scope::User, AppUserStatus::Active),
                    (2, Scope::Group, AppUserStatus::Suspended),
                ])),
                groups: vec!["00g1".into()],
                listed_ms: 1_700_000_000_002,
                first_seen_ms: 1_600_000_000_000,
            },
        );
        s.usage.add("0oa1", 0, 1_700_000_100_000, Some(7), None);
        s.usage.add("0oa1", 2, 1_700_000_200_000, Some(8), Some(9));
        s
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let state = sample();
        let bytes = encode(&state);
        assert_eq!(decode(&bytes).unwrap(), state); // ok: test
        assert!(decode(b"not gzip").is_err());
        let mut damaged = bytes.clone();
        let mid = damaged.len() / 2;
        damaged[mid] ^= 0xff;
        assert!(decode(&damaged).is_err(), "a flipped byte is caught");
        assert!(decode(&bytes[..bytes.len() - 3]).is_err(), "a cut checkpoint is caught");
        let over = encode_capped(&state, bytes.len() - 1).unwrap(); // ok: test
        assert_eq!((over.bytes, over.len), (None, bytes.len()), "past the cap only the size is kept");
        let file = write_to(&state, std::io::Cursor::new(Vec::new())).unwrap(); // ok: test
        assert_eq!(file.into_inner(), bytes, "a file sink gets the same bytes");
    }
}
