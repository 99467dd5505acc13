//! Writing a checkpoint: the state as varints and delta-coded sorted user indices, compressed a chunk at a
//! time inside its sealed envelope, into any sink.

use std::collections::BTreeMap;
use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

mod history;

use super::seal::{Seal, Sealed};
use super::{MAGIC, VERSION};
use crate::discovery::inventory::AppKind;
use crate::discovery::state::{AppEntry, OrgState, StateKey};
use crate::discovery::usage::{AppUsage, UsageLedger};

/// Bytes compressed as they are written, a chunk at a time, into any sink: the uncompressed checkpoint
/// of a large org (hundreds of MB) never exists in memory at once, and a file sink holds none of it.
struct Writer<W: Write> {
    chunk: Vec<u8>,
    gz: GzEncoder<Sealed<W>>,
    error: Option<std::io::Error>,
}

const CHUNK: usize = 64 * 1024;

impl<W: Write> Writer<W> {
    fn new(sink: W, seal: &Seal) -> std::io::Result<Writer<W>> {
        let sealed = Sealed::start(sink, seal)?;
        Ok(Writer { chunk: Vec::with_capacity(CHUNK), gz: GzEncoder::new(sealed, Compression::new(6)), error: None })
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
            None => self.gz.finish()?.finish(),
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

fn kind_code(kind: AppKind) -> u8 {
    match kind {
        AppKind::Saas => 0,
        AppKind::OktaOwn => 1,
        AppKind::ServiceClient => 2,
    }
}

fn write_key<W: Write>(w: &mut Writer<W>, key: &StateKey) {
    w.str(&key.origin);
    w.u64(u64::from(key.window_days));
    w.u64(key.event_types.len() as u64);
    key.event_types.iter().for_each(|t| w.str(t));
    w.byte(u8::from(key.include_okta_apps));
    w.byte(u8::from(key.history));
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
            a.column_times().for_each(|t| w.u64(u64::from(t)));
        }
        None => w.byte(0),
    }
}

fn write_usage<W: Write>(w: &mut Writer<W>, usage: &UsageLedger) {
    let apps: BTreeMap<&str, &AppUsage> = usage.apps.iter().map(|(k, v)| (&**k, v)).collect();
    w.u64(apps.len() as u64);
    for (id, app) in apps {
        w.str(id);
        let mut pairs: Vec<(u32, i64, u32)> = app.last_seen.entries().collect();
        pairs.sort_unstable();
        write_users(w, pairs.len(), pairs.iter().map(|p| p.0));
        let base = pairs.iter().map(|p| p.1).min().unwrap_or(0);
        w.i64(base);
        pairs.iter().for_each(|p| w.u64((p.1 - base) as u64));
        pairs.iter().for_each(|p| w.u64(u64::from(p.2)));
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

/// A checkpoint encoded under a cap: its bytes when they fit, and its sealed size either way.
#[derive(Debug)]
pub(crate) struct Encoded {
    pub(crate) bytes: Option<Vec<u8>>,
    pub(crate) len: usize,
}

/// The state as sealed bytes, kept only when they are at most `cap` long.
pub(crate) fn encode_capped(state: &OrgState, cap: usize, seal: &Seal) -> std::io::Result<Encoded> {
    let c = write_to(state, Capped { kept: Vec::new(), total: 0, cap }, seal)?;
    Ok(Encoded { bytes: (c.total <= c.cap).then_some(c.kept), len: c.total })
}

/// Writes the state, compressed and sealed, into `sink` and hands the sink back.
pub(crate) fn write_to<W: Write>(state: &OrgState, sink: W, seal: &Seal) -> std::io::Result<W> {
    write_version(state, sink, seal, VERSION)
}

/// Writes the state in the layout of `version` (tests write the previous one to check it is still read).
pub(super) fn write_version<W: Write>(state: &OrgState, sink: W, seal: &Seal, version: u8) -> std::io::Result<W> {
    let mut w = Writer::new(sink, seal)?;
    w.bytes(MAGIC);
    w.byte(version);
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
    w.opt_i64(state.observed_since_ms);
    w.u64(state.directory.len() as u64);
    for (id, status) in state.directory.entries() {
        w.str(id);
        w.byte(status.code());
    }
    w.u64(state.apps.len() as u64);
    state.apps.values().for_each(|a| write_app(&mut w, a));
    write_usage(&mut w, &state.usage);
    history::write_history(&mut w, &state.history);
    write_attributes(&mut w, state);
    if version >= 5 {
        history::write_by_value(&mut w, &state.history);
    }
    w.finish()
}

/// The breakdown's attributes: names, the distinct values, then each attribute's value per user.
fn write_attributes<W: Write>(w: &mut Writer<W>, state: &OrgState) {
    let Some(a) = state.directory.attributes() else {
        w.u64(0);
        return;
    };
    w.u64(a.names().len() as u64);
    a.names().iter().for_each(|n| w.str(n));
    w.u64(a.values().len() as u64);
    a.values().iter().for_each(|v| w.str(v));
    for i in 0..a.names().len() {
        a.column(i).iter().for_each(|&v| w.u64(u64::from(v)));
    }
}
