//! The API token: held in a zeroizing secret, never printed by Debug or Display.

use secrecy::{ExposeSecret, SecretString};

#[derive(Clone)]
pub struct ApiToken(SecretString);

impl ApiToken {
    /// Trims surrounding whitespace (a trailing newline from `echo > file` is common); None when empty.
    pub fn new(raw: &str) -> Option<ApiToken> {
        let trimmed = raw.trim();
        (!trimmed.is_empty()).then(|| ApiToken(SecretString::from(trimmed.to_string())))
    }

    /// The Authorization header value Okta documents: `SSWS <token>`.
    pub(crate) fn authorization(&self) -> String {
        format!("SSWS {}", self.0.expose_secret())
    }
}

impl ApiToken {
    /// A hash of the token, to notice rotation without keeping a second copy of it.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        self.0.expose_secret().hash(&mut h);
        h.finish()
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
    fn never_printed() {
        let t = ApiToken::new(" 00abcSECRET\n").unwrap();
        assert_eq!(format!("{t:?}"), "ApiToken(<redacted>)");
        assert_eq!(t.authorization(), "SSWS 00abcSECRET");
        assert!(ApiToken::new("  \n").is_none());
    }
}
