//! The checkpoint's envelope: a short header, the gzip stream, and an HMAC-SHA256 tag over both, keyed by
//! a secret only the operator holds and bound to the integration it was written for. A checkpoint is read
//! back from objects that others may be able to write (a wildcard `dti.dev` role, a restored backup, a
//! GitOps tool), so the tag is checked before a single byte is decompressed: a forged, copied or damaged
//! checkpoint costs one hash over its compressed bytes, never a decompression.

use std::io::Write;

use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretSlice};

use super::CheckpointError;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

const MAGIC: &[u8; 4] = b"DTIC";
const VERSION: u8 = 2;
const UNSIGNED: u8 = 0;
const HMAC_SHA256: u8 = 1;
const HEADER: usize = 6;
pub(super) const TAG: usize = 32;
/// Separates these tags from any other use of the key.
const DOMAIN: &[u8] = b"dti.dev/checkpoint/v2\0";
/// A key shorter than this is refused (HMAC-SHA256's key is as strong as its hash with 32 bytes).
pub(crate) const KEY_BYTES: usize = 32;

/// How a checkpoint is sealed and checked: a key (none for an unsigned `sync --state` file) and what it
/// is bound to (the integration's uid), so a checkpoint copied to another integration does not verify.
pub(crate) struct Seal {
    key: Option<SecretSlice<u8>>,
    binding: Vec<u8>,
}

impl Seal {
    /// No signature: written unsigned, read without checking a tag (the fields are still validated).
    pub(crate) fn unsigned() -> Seal {
        Seal { key: None, binding: Vec::new() }
    }

    /// Signed with `key`, bound to `binding`; reading requires a tag that verifies.
    pub(crate) fn hmac(key: &[u8], binding: &[u8]) -> Result<Seal, String> {
        if key.len() < KEY_BYTES {
            return Err(format!("the checkpoint key has {} bytes, at least {KEY_BYTES} are needed", key.len()));
        }
        Ok(Seal { key: Some(SecretSlice::from(key.to_vec())), binding: binding.to_vec() })
    }

    pub(crate) fn signs(&self) -> bool {
        self.key.is_some()
    }

    fn mac(&self) -> Option<HmacSha256> {
        let key = self.key.as_ref()?;
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key.expose_secret()).ok()?;
        mac.update(DOMAIN);
        mac.update(&(self.binding.len() as u64).to_le_bytes());
        mac.update(&self.binding);
        Some(mac)
    }

    fn header(&self) -> [u8; HEADER] {
        let alg = if self.signs() { HMAC_SHA256 } else { UNSIGNED };
        [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION, alg]
    }
}

/// A sink that hashes what passes through it; `finish` appends the tag.
pub(super) struct Sealed<W: Write> {
    inner: W,
    mac: Option<HmacSha256>,
}

impl<W: Write> Sealed<W> {
    pub(super) fn start(mut inner: W, seal: &Seal) -> std::io::Result<Sealed<W>> {
        let header = seal.header();
        inner.write_all(&header)?;
        let mut mac = seal.mac();
        if let Some(m) = mac.as_mut() {
            m.update(&header);
        }
        Ok(Sealed { inner, mac })
    }

    pub(super) fn finish(mut self) -> std::io::Result<W> {
        if let Some(mac) = self.mac.take() {
            self.inner.write_all(&mac.finalize().into_bytes())?;
        }
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for Sealed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write_all(buf)?;
        if let Some(m) = self.mac.as_mut() {
            m.update(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The gzip stream inside a sealed checkpoint, once its header is known and (with a key) its tag verifies.
pub(super) fn open<'a>(bytes: &'a [u8], seal: &Seal) -> Result<&'a [u8], CheckpointError> {
    let (header, rest) = bytes.split_at_checked(HEADER).ok_or(CheckpointError::Corrupt("truncated"))?;
    if &header[..4] != MAGIC {
        return Err(CheckpointError::Corrupt("not a dti-operator checkpoint"));
    }
    if header[4] != VERSION {
        return Err(CheckpointError::Incompatible(header[4]));
    }
    let body = match header[5] {
        HMAC_SHA256 => rest.split_at_checked(rest.len().saturating_sub(TAG)).map(|(body, tag)| (body, Some(tag))),
        UNSIGNED => Some((rest, None)),
        _ => None,
    };
    let (body, tag) = body.ok_or(CheckpointError::Corrupt("an unknown signature algorithm"))?;
    let Some(mut mac) = seal.mac() else {
        return Ok(body); // unsigned reading: the tag, if any, is not checked
    };
    let tag = tag.filter(|t| t.len() == TAG).ok_or(CheckpointError::Unauthenticated("it is not signed"))?;
    mac.update(header);
    mac.update(body);
    mac.verify_slice(tag).map_err(|_| {
        CheckpointError::Unauthenticated(
            "its signature does not verify: it was changed, or written for another integration or with another key",
        )
    })?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(seal: &Seal, body: &[u8]) -> Vec<u8> {
        let mut s = Sealed::start(Vec::new(), seal).expect("a Vec sink");
        s.write_all(body).expect("a Vec sink");
        s.finish().expect("a Vec sink")
    }

    #[test]
    fn a_tag_binds_key_integration_and_every_byte() {
        let key = [7u8; 32];
        let mine = Seal::hmac(&key, b"uid-a").expect("32 bytes");
        let bytes = sealed(&mine, b"gzip bytes");
        assert_eq!(open(&bytes, &mine), Ok(&b"gzip bytes"[..]));
        let other_integration = Seal::hmac(&key, b"uid-b").expect("32 bytes");
        assert!(matches!(open(&bytes, &other_integration), Err(CheckpointError::Unauthenticated(_))));
        let other_key = Seal::hmac(&[8u8; 32], b"uid-a").expect("32 bytes");
        assert!(matches!(open(&bytes, &other_key), Err(CheckpointError::Unauthenticated(_))));
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x01;
            assert!(open(&flipped, &mine).is_err(), "a flip at byte {i} is caught");
        }
        let unsigned = sealed(&Seal::unsigned(), b"gzip bytes");
        assert!(matches!(open(&unsigned, &mine), Err(CheckpointError::Unauthenticated(_))), "unsigned is refused");
        assert_eq!(open(&unsigned, &Seal::unsigned()), Ok(&b"gzip bytes"[..]));
        assert_eq!(open(&bytes, &Seal::unsigned()), Ok(&b"gzip bytes"[..]), "a keyless reader skips the tag");
        assert!(open(&bytes[..3], &mine).is_err());
        assert!(Seal::hmac(&[1; 16], b"x").is_err(), "short keys are refused");
    }
}
