//! Checkpoints written by hand, independently of the operator's encoder, as an attacker would write them:
//! the decoded format's first fields, gzip, and the operator's envelope (unsigned, or sealed with a key).

/// The decoded checkpoint format, written here independently of the operator's encoder: varints, and a
/// length-prefixed string.
pub fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn text(s: &str, out: &mut Vec<u8>) {
    varint(s.len() as u64, out);
    out.extend(s.as_bytes());
}

pub fn gzip(raw: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(raw).expect("a Vec sink");
    gz.finish().expect("a Vec sink")
}

/// A checkpoint's first fields for the integration's settings (30d window, default sign-in types, history
/// kept), then `cursor` and `assignments_listed_ms`; the rest is left out (the reader refuses these fields
/// first).
pub fn crafted_prefix(origin: &str, cursor: Option<&str>, assignments_listed_ms: Option<i64>) -> Vec<u8> {
    let mut raw = b"DTIS\x04".to_vec();
    text(origin, &mut raw);
    varint(30, &mut raw);
    let mut types: Vec<&str> = dti_operator::crd::DEFAULT_SIGN_IN_EVENT_TYPES.to_vec();
    types.sort();
    types.dedup();
    varint(types.len() as u64, &mut raw);
    types.iter().for_each(|t| text(t, &mut raw));
    raw.push(0); // Okta's own apps left out
    raw.push(1); // history kept
    match cursor {
        Some(c) => {
            raw.push(1);
            text(c, &mut raw);
        }
        None => raw.push(0),
    }
    match assignments_listed_ms {
        Some(t) => {
            raw.push(1);
            varint(((t << 1) ^ (t >> 63)) as u64, &mut raw);
        }
        None => raw.push(0),
    }
    raw
}

/// Sealed as the operator seals: header, gzip, HMAC-SHA256 over a domain, the integration's uid and both.
pub fn sealed(key: &[u8], uid: &str, raw: &[u8]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let header = b"DTIC\x02\x01";
    let body = gzip(raw);
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).expect("a key");
    mac.update(b"dti.dev/checkpoint/v2\0");
    mac.update(&(uid.len() as u64).to_le_bytes());
    mac.update(uid.as_bytes());
    mac.update(header);
    mac.update(&body);
    let mut out = header.to_vec();
    out.extend(body);
    out.extend(mac.finalize().into_bytes());
    out
}

/// An unsigned envelope around `raw` (what `sync --state` writes without --state-key-file).
pub fn unsigned(raw: &[u8]) -> Vec<u8> {
    let mut out = b"DTIC\x02\x00".to_vec();
    out.extend(gzip(raw));
    out
}
