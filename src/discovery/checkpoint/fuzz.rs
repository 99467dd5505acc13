//! Property tests of the checkpoint reader as an attacker's target: arbitrary bytes, and mutations of a
//! valid checkpoint made before compression (so they reach every field of the decoder), always end in a
//! state or an error, never a panic, within a bounded time; a signed checkpoint changed anywhere is refused.

use std::io::Read;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::tests::{NOW_MS, key, read, sample, seal, unsigned_envelope};
use super::{CheckpointError, Expect, Seal, decode, encode};

fn unsigned(bytes: &[u8]) -> Result<crate::discovery::OrgState, CheckpointError> {
    decode(bytes, &Seal::unsigned(), &Expect { key: &key(), now_ms: NOW_MS })
}

/// The decompressed bytes of the sample checkpoint.
fn sample_raw() -> Vec<u8> {
    let sealed = encode(&sample(), &Seal::unsigned());
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&sealed[6..]).read_to_end(&mut raw).expect("the sample decompresses");
    raw
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..12)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 1..8usize).prop_map(|(i, n)| Mutation::Remove(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(raw: &mut Vec<u8>, m: &Mutation) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match m {
        Mutation::Flip(i, x) => {
            let i = at(*i, raw.len());
            if let Some(b) = raw.get_mut(i) {
                *b ^= x;
            }
        }
        Mutation::Insert(i, bytes) => {
            let i = at(*i, raw.len() + 1);
            raw.splice(i..i, bytes.iter().copied());
        }
        Mutation::Remove(i, n) => {
            let i = at(*i, raw.len());
            let end = (i + n).min(raw.len());
            raw.drain(i..end);
        }
        Mutation::Truncate(i) => raw.truncate(at(*i, raw.len() + 1)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_are_refused_without_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        prop_assert!(read(&bytes).is_err());
        let _ = unsigned(&bytes);
        let mut enveloped = b"DTIC\x02\x00".to_vec();
        enveloped.extend(&bytes);
        let _ = unsigned(&enveloped);
    }

    #[test]
    fn mutated_checkpoints_decode_or_fail_quickly(mutations in prop::collection::vec(mutation(), 1..6)) {
        let mut raw = sample_raw();
        for m in &mutations {
            apply(&mut raw, m);
        }
        let started = Instant::now();
        if let Ok(state) = unsigned(&unsigned_envelope(&raw)) {
            // Whatever got through is as valid as a listing from Okta would be.
            let limit = NOW_MS + super::read::CLOCK_SKEW_MS;
            prop_assert!(state.assignments_listed_ms.is_none_or(|t| (0..=limit).contains(&t)));
            prop_assert!(state.apps.values().all(|a| a.listed_ms <= limit && crate::discovery::inventory::valid_app_id(&a.record.id)));
            prop_assert!(state.cursor.as_ref().is_none_or(|c| c.path() == "/api/v1/logs" && c.origin().ascii_serialization() == key().origin));
        }
        prop_assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_signed_checkpoint_changed_anywhere_is_refused(i in any::<usize>(), x in 1..=255u8) {
        let mut bytes = encode(&sample(), &seal());
        let i = i % bytes.len();
        bytes[i] ^= x;
        prop_assert!(read(&bytes).is_err());
    }
}
