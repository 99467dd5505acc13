//! The SSWS API token: checked when read, held only as a sensitive header value built once, never printed.

use reqwest::header::HeaderValue;
use sha2::{Digest, Sha256};

/// A short hash of a credential, to notice rotation and to bind a job's outcome to what it ran with,
/// without keeping a second copy of the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Fingerprint(pub(crate) [u8; 8]);

impl Fingerprint {
    pub(crate) fn of(parts: &[&[u8]]) -> Fingerprint {
        let mut hash = Sha256::new();
        for part in parts {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        let digest = hash.finalize();
        let mut out = [0u8; 8];
        out.copy_from_slice(&digest[..8]);
        Fingerprint(out)
    }
}

/// Why a Secret's value is not a usable API token (never quoting the value).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum TokenError {
    #[error("is empty")]
    Empty,
    #[error("is not UTF-8 text")]
    NotUtf8,
    #[error("contains whitespace inside the token (an API token is one word)")]
    InnerWhitespace,
    #[error("contains control characters")]
    Control,
    #[error("has characters an API token cannot have (Okta tokens are printable ASCII)")]
    NotAscii,
    #[error("is longer than 1024 characters")]
    TooLong,
    #[error("is wrapped in quotes or contains them (store the token alone, without quotes)")]
    Quoted,
}

/// An Okta API token, sent as `Authorization: SSWS <token>` (developer.okta.com: core Okta API, auth).
#[derive(Clone)]
pub(crate) struct ApiToken {
    header: HeaderValue,
    fingerprint: Fingerprint,
}

impl ApiToken {
    /// Surrounding whitespace (a trailing newline from `echo > file`) is trimmed; anything else unusual
    /// is refused with a reason, so it is reported as a Secret problem instead of retried as a network one.
    pub(crate) fn parse(raw: &[u8]) -> Result<ApiToken, TokenError> {
        let text = std::str::from_utf8(raw).map_err(|_| TokenError::NotUtf8)?;
        let token = text.trim();
        if token.is_empty() {
            return Err(TokenError::Empty);
        }
        if token.len() > 1024 {
            return Err(TokenError::TooLong);
        }
        if token.chars().any(char::is_whitespace) {
            return Err(TokenError::InnerWhitespace);
        }
        if token.chars().any(char::is_control) {
            return Err(TokenError::Control);
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::NotAscii);
        }
        // Okta's tokens are letters, digits, '-' and '_': a quote is always a copy-and-paste leftover.
        if token.contains(['"', '\'', '`']) {
            return Err(TokenError::Quoted);
        }
        let mut header = HeaderValue::from_str(&format!("SSWS {token}")).map_err(|_| TokenError::NotAscii)?;
        header.set_sensitive(true);
        Ok(ApiToken { header, fingerprint: Fingerprint::of(&[b"ssws", token.as_bytes()]) })
    }

    pub(crate) fn header(&self) -> &HeaderValue {
        &self.header
    }

    pub(crate) fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_checked_and_never_printed() {
        let t = ApiToken::parse(b" 00abcSECRET\n").unwrap();
        assert_eq!(format!("{t:?}"), "ApiToken(<redacted>)");
        assert!(t.header().is_sensitive());
        assert_eq!(t.header().to_str().unwrap(), "SSWS 00abcSECRET");
        let cases: &[(&[u8], TokenError)] = &[
            (b"  \n", TokenError::Empty),
            (b"00ab cd", TokenError::InnerWhitespace),
            (b"00ab\ncd", TokenError::InnerWhitespace),
            (b"00ab\x01cd", TokenError::Control),
            (b"00ab\xff\xfecd", TokenError::NotUtf8),
            ("00abé".as_bytes(), TokenError::NotAscii),
        ];
        for (raw, want) in cases {
            assert_eq!(ApiToken::parse(raw).unwrap_err(), *want, "{raw:?}");
        }
        assert_ne!(ApiToken::parse(b"a").unwrap().fingerprint(), ApiToken::parse(b"b").unwrap().fingerprint());
    }
}
