//! The API service app's private key, read from a Secret as PEM (RSA PKCS#1 or PKCS#8; EC SEC1 or
//! PKCS#8 on P-256 or P-384) or as a private JWK, and turned into a signing key for the client assertion.
//! Okta accepts RS256/384/512 and ES256/384/512 assertions (developer.okta.com: implement OAuth for Okta
//! with a service app, client authentication); we sign RS256, ES256 or ES384 by key type.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use rsa::pkcs1::der::Encode;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use serde::Deserialize;

/// The formats accepted, for messages that tell the user what to put in the Secret.
pub(crate) const ACCEPTED_FORMATS: &str = "a PEM private key (\"BEGIN PRIVATE KEY\", \"BEGIN RSA PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\"; RSA, or EC on P-256 or P-384) or a private JWK (JSON with kty RSA or EC and its private members)";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum KeyError {
    #[error("is not UTF-8 text")]
    NotText,
    #[error("is neither a PEM private key nor a JWK")]
    UnknownFormat,
    #[error("is a PEM block that holds no usable private key (an encrypted or public key?)")]
    BadPem,
    #[error("is a JWK without the private members of an RSA or EC (P-256, P-384) key")]
    BadJwk,
}

/// A key that signs client assertions.
#[derive(Clone)]
pub(crate) struct SigningKey {
    pub(crate) algorithm: Algorithm,
    pub(crate) key: EncodingKey,
    /// The JWK's own kid, when the key came as a JWK.
    pub(crate) jwk_kid: Option<String>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({:?}, <redacted>)", self.algorithm)
    }
}

impl SigningKey {
    pub(crate) fn parse(raw: &[u8]) -> Result<SigningKey, KeyError> {
        let text = std::str::from_utf8(raw).map_err(|_| KeyError::NotText)?.trim();
        if text.starts_with('{') {
            return from_jwk(text);
        }
        if text.starts_with("-----BEGIN") {
            return from_pem(text);
        }
        Err(KeyError::UnknownFormat)
    }
}

fn rsa_key(key: &rsa::PrivateKey) -> Result<SigningKey, KeyError> {
    let der = key.to_pkcs1_der().map_err(|_| KeyError::BadPem)?;
    Ok(SigningKey { algorithm: Algorithm::RS256, key: EncodingKey::from_rsa_der(der.as_bytes()), jwk_kid: None })
}

fn ec_key(der: &[u8], algorithm: Algorithm) -> SigningKey {
    SigningKey { algorithm, key: EncodingKey::from_ec_der(der), jwk_kid: None }
}

fn from_pem(text: &str) -> Result<SigningKey, KeyError> {
    if let Ok(key) = rsa::PrivateKey::from_pkcs1_pem(text) {
        return rsa_key(&key);
    }
    if let Ok(key) = rsa::PrivateKey::from_pkcs8_pem(text) {
        return rsa_key(&key);
    }
    let p256 = p256::SecretKey::from_pkcs8_pem(text).or_else(|_| p256::SecretKey::from_sec1_pem(text));
    if let Ok(key) = p256 {
        let der = key.to_pkcs8_der().map_err(|_| KeyError::BadPem)?;
        return Ok(ec_key(der.as_bytes(), Algorithm::ES256));
    }
    let p384 = p384::SecretKey::from_pkcs8_pem(text).or_else(|_| p384::SecretKey::from_sec1_pem(text));
    if let Ok(key) = p384 {
        let der = key.to_pkcs8_der().map_err(|_| KeyError::BadPem)?;
        return Ok(ec_key(der.as_bytes(), Algorithm::ES384));
    }
    Err(KeyError::BadPem)
}

#[derive(Deserialize)]
struct PrivateJwk {
    kty: String,
    kid: Option<String>,
    crv: Option<String>,
    d: Option<String>,
    n: Option<String>,
    e: Option<String>,
    p: Option<String>,
    q: Option<String>,
    dp: Option<String>,
    dq: Option<String>,
    qi: Option<String>,
}

fn b64(field: &Option<String>) -> Result<Vec<u8>, KeyError> {
    let text = field.as_deref().ok_or(KeyError::BadJwk)?;
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).map_err(|_| KeyError::BadJwk)
}

fn from_jwk(text: &str) -> Result<SigningKey, KeyError> {
    let jwk: PrivateJwk = serde_json::from_str(text).map_err(|_| KeyError::BadJwk)?;
    let mut key = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("RSA", _) => rsa_from_jwk(&jwk)?,
        ("EC", Some("P-256")) => {
            let secret = p256::SecretKey::from_slice(&b64(&jwk.d)?).map_err(|_| KeyError::BadJwk)?;
            let der = secret.to_pkcs8_der().map_err(|_| KeyError::BadJwk)?;
            ec_key(der.as_bytes(), Algorithm::ES256)
        }
        ("EC", Some("P-384")) => {
            let secret = p384::SecretKey::from_slice(&b64(&jwk.d)?).map_err(|_| KeyError::BadJwk)?;
            let der = secret.to_pkcs8_der().map_err(|_| KeyError::BadJwk)?;
            ec_key(der.as_bytes(), Algorithm::ES384)
        }
        _ => return Err(KeyError::BadJwk),
    };
    key.jwk_kid = jwk.kid;
    Ok(key)
}

/// A private RSA JWK carries every PKCS#1 member (RFC 7518 §6.3.2): encode them as PKCS#1 DER, then
/// check that the result is a consistent key before using it.
fn rsa_from_jwk(jwk: &PrivateJwk) -> Result<SigningKey, KeyError> {
    let parts = [&jwk.n, &jwk.e, &jwk.d, &jwk.p, &jwk.q, &jwk.dp, &jwk.dq, &jwk.qi]
        .into_iter()
        .map(b64)
        .collect::<Result<Vec<_>, _>>()?;
    fn uint(bytes: &[u8]) -> Result<rsa::pkcs1::UintRef<'_>, KeyError> {
        let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len().saturating_sub(1));
        rsa::pkcs1::UintRef::new(&bytes[start..]).map_err(|_| KeyError::BadJwk)
    }
    let der = rsa::pkcs1::RsaPrivateKey {
        modulus: uint(&parts[0])?,
        public_exponent: uint(&parts[1])?,
        private_exponent: uint(&parts[2])?,
        prime1: uint(&parts[3])?,
        prime2: uint(&parts[4])?,
        exponent1: uint(&parts[5])?,
        exponent2: uint(&parts[6])?,
        coefficient: uint(&parts[7])?,
        other_prime_infos: None,
    }
    .to_der()
    .map_err(|_| KeyError::BadJwk)?;
    let key = rsa::PrivateKey::from_pkcs1_der(&der).map_err(|_| KeyError::BadJwk)?;
    rsa_key(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_private_key_with_a_reason() {
        let cases: &[(&[u8], KeyError)] = &[
            (b"\xff\xfe", KeyError::NotText),
            (b"just some text", KeyError::UnknownFormat),
            (
                b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
                KeyError::BadPem,
            ),
            (br#"{"kty":"EC","crv":"P-256","x":"a","y":"b"}"#, KeyError::BadJwk),
            (br#"{"kty":"oct","k":"c2VjcmV0"}"#, KeyError::BadJwk),
        ];
        for (raw, want) in cases {
            assert_eq!(SigningKey::parse(raw).unwrap_err(), *want);
        }
    }

    #[test]
    fn reads_an_ec_jwk() {
        // d = 1 is a valid (if silly) P-256 scalar: enough to check the JWK path end to end.
        let mut d = [0u8; 32];
        d[31] = 7;
        let jwk =
            format!(r#"{{"kty":"EC","crv":"P-256","kid":"k1","d":"{}","x":"","y":""}}"#, URL_SAFE_NO_PAD.encode(d));
        let key = SigningKey::parse(jwk.as_bytes()).unwrap();
        assert_eq!(key.algorithm, Algorithm::ES256);
        assert_eq!(key.jwk_kid.as_deref(), Some("k1"));
        assert!(format!("{key:?}").contains("redacted"));
    }
}
