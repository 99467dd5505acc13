//! The sync state as a compact, versioned byte string (the checkpoint): varints and delta-coded sorted
//! user indices, gzip-compressed, sealed with an HMAC (see `seal`). The operator stores it in the cluster,
//! `dti-operator sync --state FILE` in a file. Whatever is read back is untrusted input: the seal is
//! checked before decompression, and the reader (see `read`) validates every field; a checkpoint that
//! fails either is never half-used.

#[cfg(test)]
mod fuzz;
mod read;
mod seal;
mod write;

use std::io::BufReader;

use flate2::bufread::GzDecoder;

use super::state::{OrgState, StateKey};
pub(crate) use seal::{KEY_BYTES, Seal};
pub(crate) use write::{Encoded, encode_capped, write_to};

const MAGIC: &[u8; 4] = b"DTIS";
const VERSION: u8 = 5;
/// The oldest version still read: version 4 lacks only the closed months' counts per breakdown value, so an
/// operator upgraded from it keeps the history its checkpoints hold.
const FIRST_READABLE_VERSION: u8 = 4;
/// Name of this encoding, as the operator records it next to the bytes.
pub(crate) const FORMAT: &str = "dti-sync-state/6+gzip+hmac-sha256";
/// Encodings this operator reads: its own and the one before (see [`FIRST_READABLE_VERSION`]).
const READABLE_FORMATS: [&str; 2] = [FORMAT, "dti-sync-state/5+gzip+hmac-sha256"];

/// Whether a checkpoint recorded as `format` can be read.
pub(crate) fn readable(format: &str) -> bool {
    READABLE_FORMATS.contains(&format)
}
/// Decoded bytes allowed per compressed byte: real checkpoints decompress about 3 to 6 times; a
/// decompression bomb (a run of zeros shrinks a thousandfold) stops here, long before memory runs out.
const DECODED_PER_COMPRESSED: u64 = 16;
/// Decoded bytes allowed whatever the compressed size (small checkpoints, headers).
const DECODED_FLOOR: u64 = 1 << 20;
/// Largest decoded checkpoint accepted at all.
const DECODED_CEILING: u64 = 4 << 30;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum CheckpointError {
    #[error("the checkpoint is corrupt ({0})")]
    Corrupt(&'static str),
    #[error("the checkpoint has version {0}, this operator reads version {VERSION}")]
    Incompatible(u8),
    #[error("the checkpoint is not authentic ({0})")]
    Unauthenticated(&'static str),
    #[error("the checkpoint holds {0}")]
    Invalid(&'static str),
    #[error(
        "the checkpoint decompresses to more than its size allows (a decompression bomb, or a count larger than the data)"
    )]
    TooLarge,
    #[error("the checkpoint was saved for another domain, sign-in event types or inventory rule")]
    OtherSettings,
}

impl CheckpointError {
    /// Whether the checkpoint was refused as untrustworthy (damaged, forged, copied, hostile), as opposed
    /// to one honestly saved for other settings.
    pub(crate) fn rejected(&self) -> bool {
        !matches!(self, CheckpointError::OtherSettings)
    }
}

/// What a reader expects of a checkpoint: the state key of this sync, and the time now.
pub(crate) struct Expect<'a> {
    pub(crate) key: &'a StateKey,
    pub(crate) now_ms: i64,
}

/// A state from sealed bytes made by [`write_to`]: the seal checked first, then a streamed, capped,
/// validated decode.
pub(crate) fn decode(bytes: &[u8], seal: &Seal, expect: &Expect<'_>) -> Result<OrgState, CheckpointError> {
    let gzip = seal::open(bytes, seal)?;
    let budget = (gzip.len() as u64).saturating_mul(DECODED_PER_COMPRESSED).clamp(DECODED_FLOOR, DECODED_CEILING);
    read::read_state(BufReader::with_capacity(64 * 1024, GzDecoder::new(gzip)), budget, expect)
}

/// The state as sealed bytes.
#[cfg(test)]
pub(crate) fn encode(state: &OrgState, seal: &Seal) -> Vec<u8> {
    encode_capped(state, usize::MAX, seal).ok().and_then(|e| e.bytes).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use url::Url;

    use super::*;
    use crate::discovery::assignments::{AppUserStatus, Assignments, Row, Scope, UNKNOWN_TIME};
    use crate::discovery::directory::{UserRecord, UserStatus};
    use crate::discovery::history::{InventoryApp, LOG_RETENTION_MS, Ledgers, Open, Period, Retention, Span};
    use crate::discovery::inventory::{AppKind, AppRecord};
    use crate::discovery::state::AppEntry;

    pub(crate) const NOW_MS: i64 = 1_700_000_300_000;

    pub(crate) fn key() -> StateKey {
        StateKey {
            origin: "https://acme.okta.com".into(),
            window_days: 30,
            event_types: vec!["user.authentication.sso".into()],
            include_okta_apps: false,
            history: true,
        }
    }

    pub(crate) fn seal() -> Seal {
        Seal::hmac(&[42u8; 32], b"integration-uid").expect("32 bytes")
    }

    pub(crate) fn read(bytes: &[u8]) -> Result<OrgState, CheckpointError> {
        decode(bytes, &seal(), &Expect { key: &key(), now_ms: NOW_MS })
    }

    pub(crate) fn sample() -> OrgState {
        let mut s = OrgState::new(key());
        s.cursor = Some(Url::parse("https://acme.okta.com/api/v1/logs?after=abc&limit=1000").expect("a URL"));
        s.assignments_listed_ms = Some(1_700_000_000_000);
        s.users_listed_ms = Some(1_700_000_000_001);
        s.directory.keep_attributes(&["department".to_string()]);
        for (i, status) in [UserStatus::Active, UserStatus::Suspended, UserStatus::Unlisted].iter().enumerate() {
            let profile = serde_json::value::RawValue::from_string(format!(r#"{{"department":"D{}"}}"#, i % 2)).ok();
            s.directory.set(&UserRecord { id: format!("00u{i}"), status: *status, login: None, profile });
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
                    Row { user: 0, scope: Scope::User, status: AppUserStatus::Active, assigned_s: 1_690_000_000 },
                    Row { user: 2, scope: Scope::Group, status: AppUserStatus::Suspended, assigned_s: UNKNOWN_TIME },
                ])),
                groups: vec!["00g1".into()],
                listed_ms: 1_700_000_000_002,
                first_seen_ms: 1_600_000_000_000,
            },
        );
        s.usage.add("0oa1", 0, 1_700_000_100_000, Some(7), None);
        s.usage.add("0oa1", 2, 1_700_000_200_000, Some(8), Some(9));
        let retention = Retention::default();
        s.history.begin(
            NOW_MS - 1000,
            Some(NOW_MS - LOG_RETENTION_MS),
            retention,
            Ledgers { usage: &mut s.usage, attributes: s.directory.attributes() },
        );
        for (user, at) in [(0, NOW_MS - 40 * DAY_MS), (2, NOW_MS - 2000)] {
            let flags = s.history.add("0oa1", at);
            s.usage.record("0oa1", user, at, flags, false);
        }
        s.history.finish(
            NOW_MS - 1000,
            &[InventoryApp { id: "0oa1", seats: Some(2) }],
            retention,
            Ledgers { usage: &mut s.usage, attributes: s.directory.attributes() },
        );
        s
    }

    const DAY_MS: i64 = 86_400_000;

    #[test]
    fn breakdown_attributes_round_trip() {
        let mut state = sample();
        state.directory.keep_attributes(&["department".to_string(), "costCenter".to_string()]);
        let profile = serde_json::value::RawValue::from_string(r#"{"department":"Sales","costCenter":"CC-1"}"#.into());
        let record =
            UserRecord { id: "00u1".into(), status: UserStatus::Suspended, login: None, profile: profile.ok() };
        state.directory.set(&record);
        let back = read(&encode(&state, &seal())).expect("read back");
        let (a, b) = (state.directory.attributes().expect("kept"), back.directory.attributes().expect("read back"));
        assert_eq!(
            (a.names(), a.values(), a.column(0), a.column(1)),
            (b.names(), b.values(), b.column(0), b.column(1))
        );
        assert_eq!(b.text(b.value(0, 1)), "Sales");
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let state = sample();
        let bytes = encode(&state, &seal());
        assert_eq!(read(&bytes), Ok(state.clone()));
        assert!(read(b"not a checkpoint").is_err());
        let mut damaged = bytes.clone();
        let mid = damaged.len() / 2;
        damaged[mid] ^= 0xff;
        assert!(matches!(read(&damaged), Err(CheckpointError::Unauthenticated(_))), "a flipped byte is caught");
        assert!(read(&bytes[..bytes.len() - 3]).is_err(), "a cut checkpoint is caught");
        let over = encode_capped(&state, bytes.len() - 1, &seal()).expect("a Vec sink");
        assert_eq!((over.bytes, over.len), (None, bytes.len()), "past the cap only the size is kept");
        let file = write_to(&state, std::io::Cursor::new(Vec::new()), &seal()).expect("a Vec sink");
        assert_eq!(file.into_inner(), bytes, "a file sink gets the same bytes");
        let other =
            Expect { key: &StateKey { event_types: vec!["app.oauth2.signon".into()], ..key() }, now_ms: NOW_MS };
        assert_eq!(decode(&bytes, &seal(), &other), Err(CheckpointError::OtherSettings));
        let window = Expect { key: &StateKey { window_days: 7, ..key() }, now_ms: NOW_MS };
        let kept = decode(&bytes, &seal(), &window).map(|s| s.history);
        assert_eq!(kept, Ok(state.history.clone()), "another usage window keeps the history");
        assert!(state.history.org.closed.len() > 3 && !state.history.apps["0oa1"].series.open.is_empty());
        assert!(!state.history.org.by_value.is_empty(), "closed months' counts per breakdown value");
    }

    #[test]
    fn the_previous_version_is_read_without_the_counts_per_value() {
        let state = sample();
        let v4 = write::write_version(&state, Vec::new(), &seal(), 4).expect("a Vec sink");
        let back = read(&v4).expect("version 4 is still read");
        assert!(back.history.org.by_value.is_empty() && !state.history.org.by_value.is_empty());
        let without = |mut h: crate::discovery::history::History| {
            h.org.by_value.clear();
            h.apps.values_mut().for_each(|a| a.series.by_value.clear());
            h
        };
        assert_eq!(back.history, without(state.history.clone()), "everything else kept");
        assert!(
            readable(FORMAT) && readable("dti-sync-state/5+gzip+hmac-sha256") && !readable("dti-sync-state/4+gzip")
        );
        let v3 = write::write_version(&state, Vec::new(), &seal(), 3).expect("a Vec sink");
        assert_eq!(read(&v3).err(), Some(CheckpointError::Incompatible(3)));
    }

    #[test]
    fn counts_per_value_that_do_not_add_up_are_refused() {
        let mut state = sample();
        let (&month, counts) = state
            .history
            .org
            .by_value
            .iter_mut()
            .find(|(_, c)| !c[0].values.is_empty())
            .expect("a closed month with active users");
        counts[0].values[0].1 += 1;
        assert_eq!(
            validated(&state).err(),
            Some(CheckpointError::Invalid("breakdown counts that do not add up to their month's active users")),
            "month {month}"
        );
        let mut state = sample();
        let counts = state.history.org.by_value.values().next().cloned().unwrap_or_default();
        state.history.org.by_value.insert(i32::MAX - 1, counts);
        assert!(validated(&state).is_err(), "counts of a month that never closed");
    }

    /// Encodes `state` unsigned and reads it back without a key: the validation alone decides.
    fn validated(state: &OrgState) -> Result<OrgState, CheckpointError> {
        let bytes = encode(state, &Seal::unsigned());
        decode(&bytes, &Seal::unsigned(), &Expect { key: &key(), now_ms: NOW_MS })
    }

    #[test]
    fn every_field_is_validated_even_without_a_signature() {
        for cursor in [
            "https://acme.okta.com:8443/api/v1/logs?after=x",
            "https://evil.example/api/v1/logs?after=x",
            "http://acme.okta.com/api/v1/logs",
            "https://acme.okta.com/api/v1/users",
            "https://user:pw@acme.okta.com/api/v1/logs",
        ] {
            let state = OrgState { cursor: Some(Url::parse(cursor).expect("a URL")), ..sample() };
            assert!(matches!(validated(&state), Err(CheckpointError::Invalid(_))), "{cursor}");
        }
        let future = NOW_MS + read::CLOCK_SKEW_MS + 1;
        let mut cases = vec![
            OrgState { assignments_listed_ms: Some(future), ..sample() },
            OrgState { users_listed_ms: Some(future), ..sample() },
        ];
        let mut listed = sample();
        listed.apps.values_mut().for_each(|a| a.listed_ms = future);
        cases.push(listed);
        let mut used = sample();
        used.usage.add("0oa1", 1, future, Some(99), None);
        cases.push(used);
        for (i, state) in cases.iter().enumerate() {
            assert!(matches!(validated(state), Err(CheckpointError::Invalid(_))), "case {i}: a future time");
        }
        let mut hostile = sample();
        hostile.apps.values_mut().for_each(|a| a.record.label = "\u{1b}[2J\u{202e}Slack".into());
        let read = validated(&hostile).expect("a label is cleaned, not refused");
        assert_eq!(read.apps["0oa1"].record.label, "[2JSlack", "a checkpoint's text is cleaned as Okta's is");
        let mut bad_id = sample();
        if let Some(mut entry) = bad_id.apps.remove("0oa1") {
            entry.record.id = "é".repeat(80);
            bad_id.apps.insert(entry.record.id.clone(), entry);
        }
        assert!(matches!(validated(&bad_id), Err(CheckpointError::Invalid(_))), "ids as Okta's are checked");
    }

    #[test]
    fn a_history_that_could_miscount_is_refused() {
        let mut cases = Vec::new();
        let mut future = sample();
        future.history.closed_through.insert(Span::Month, Period::containing(Span::Month, NOW_MS).index + 1);
        cases.push(("a closed month in the future", future));
        let mut stray = sample();
        let stale = Period::containing(Span::Week, NOW_MS - 30 * DAY_MS).bit();
        stray.usage.record("0oa1", 1, NOW_MS - 30 * DAY_MS, stale, true);
        cases.push(("a user's bit for a period the app has not open", stray));
        let mut old = sample();
        let ancient = Period::containing(Span::Week, NOW_MS - 200 * DAY_MS);
        old.history.closed_through.remove(&Span::Week);
        old.history.org.closed.retain(|t| t.period.span != Span::Week);
        old.history.apps.values_mut().for_each(|a| a.series.closed.retain(|t| t.period.span != Span::Week));
        old.history.org.open.insert(ancient, Open::default());
        cases.push(("an open week older than Okta's log", old));
        let mut reopened = sample();
        let closed = reopened.history.org.closed[0].period;
        reopened.history.org.open.insert(closed, Open::default());
        cases.push(("an open period already closed", reopened));
        for (what, state) in cases {
            assert!(
                matches!(validated(&state), Err(CheckpointError::Invalid(_))),
                "{what}: {:?}",
                validated(&state).err()
            );
        }
        assert_eq!(validated(&sample()).map(|s| s.history), Ok(sample().history));
    }

    /// A gzip stream of `raw` in an unsigned envelope.
    pub(crate) fn unsigned_envelope(raw: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
        gz.write_all(raw).expect("a Vec sink");
        let mut out = b"DTIC\x02\x00".to_vec();
        out.extend(gz.finish().expect("a Vec sink"));
        out
    }

    pub(crate) fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    /// The decoded bytes of a valid prefix: magic, version, the test key, no cursor, no times.
    pub(crate) fn prefix() -> Vec<u8> {
        let mut raw = b"DTIS\x04".to_vec();
        let origin = "https://acme.okta.com";
        raw.push(origin.len() as u8);
        raw.extend(origin.as_bytes());
        raw.extend([30, 1, 23]);
        raw.extend(b"user.authentication.sso");
        raw.extend([0, 1, 0, 0, 0, 0]);
        raw
    }

    #[test]
    fn bombs_and_huge_counts_stop_at_the_budget_quickly() {
        let started = std::time::Instant::now();
        let zeros = unsigned_envelope(&vec![0u8; 64 << 20]);
        let unsigned = |b: &[u8]| decode(b, &Seal::unsigned(), &Expect { key: &key(), now_ms: NOW_MS });
        assert!(unsigned(&zeros).is_err());
        let mut users = prefix();
        users.extend([0xff, 0xff, 0xff, 0xff, 0x0f]); // four billion users, then nothing
        assert_eq!(unsigned(&unsigned_envelope(&users)), Err(CheckpointError::TooLarge));
        let mut empty_ids = prefix();
        empty_ids.extend([0x80, 0x80, 0x80, 0x01]); // two million users of...
        empty_ids.extend(std::iter::repeat_n([1u8, b'u', 0], 2 << 20).flatten()); // one-letter ids
        assert_eq!(unsigned(&unsigned_envelope(&empty_ids)), Err(CheckpointError::TooLarge), "the budget holds");
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    }

    #[test]
    fn descending_hours_are_refused_in_one_pass() {
        let mut raw = prefix();
        raw.extend([0, 0, 1]); // no users, no apps; usage of one app
        raw.extend([4]);
        raw.extend(b"0oa1");
        raw.extend([0, 0]); // no users, base 0
        let n: u64 = 100_000;
        varint(n, &mut raw);
        varint(400_000 * 2, &mut raw); // the first hour, zigzag-coded
        raw.push(1);
        raw.extend(std::iter::repeat_n([1u8, 1], n as usize - 1).flatten()); // then -1 each
        let started = std::time::Instant::now();
        let got = decode(&unsigned_envelope(&raw), &Seal::unsigned(), &Expect { key: &key(), now_ms: NOW_MS });
        assert_eq!(got, Err(CheckpointError::Corrupt("hours out of order")));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
