//! DPoP (RFC 9449) as Okta applies it (developer.okta.com guides/dpop): a P-256 key pair generated in
//! memory per integration, and a fresh proof JWT per request and per retry: header `typ: dpop+jwt`,
//! `alg: ES256` and the public `jwk`; claims `htm`, `htu` (no query or fragment), `iat`, `jti`, the
//! server's `nonce` when it gave one, and `ath` (base64url SHA-256 of the access token) on API calls.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters, EllipticCurveKeyType, Jwk,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use url::Url;

/// The DPoP key pair: the private half signs proofs, the public half travels in every proof's header.
pub(crate) struct DpopKey {
    signing: EncodingKey,
    public: Jwk,
}

#[derive(Serialize)]
struct ProofClaims<'a> {
    htm: &'a str,
    htu: &'a str,
    iat: u64,
    jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ath: Option<&'a str>,
}

/// A random identifier for `jti`: 128 bits, never reused.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `ath`: base64url(SHA-256(access token)).
pub(crate) fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// `htu`: the request URL without query and fragment (RFC 9449 §4.2).
pub(crate) fn htu(url: &Url) -> String {
    let mut bare = url.clone();
    bare.set_query(None);
    bare.set_fragment(None);
    bare.to_string()
}

impl DpopKey {
    /// A new key pair from the operating system's randomness.
    pub(crate) fn generate() -> Result<DpopKey, String> {
        let secret = loop {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            // A scalar outside the curve's order is vanishingly rare; draw again if it happens.
            if let Ok(key) = p256::SecretKey::from_slice(&bytes) {
                break key;
            }
        };
        let der = secret.to_pkcs8_der().map_err(|e| format!("cannot encode the DPoP key: {e}"))?;
        let point = secret.public_key().to_sec1_bytes();
        // Uncompressed SEC1: 0x04 || x (32 bytes) || y (32 bytes).
        let (x, y) = (&point[1..33], &point[33..65]);
        let public = Jwk {
            common: CommonParameters::default(),
            algorithm: AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve: EllipticCurve::P256,
                x: URL_SAFE_NO_PAD.encode(x),
                y: URL_SAFE_NO_PAD.encode(y),
            }),
        };
        Ok(DpopKey { signing: EncodingKey::from_ec_der(der.as_bytes()), public })
    }

    /// A proof for one request.
    pub(crate) fn proof(
        &self,
        method: &str,
        url: &Url,
        nonce: Option<&str>,
        access_token_hash: Option<&str>,
    ) -> Result<String, String> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.public.clone());
        let iat =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        let target = htu(url);
        let claims = ProofClaims { htm: method, htu: &target, iat, jti: random_id(), nonce, ath: access_token_hash };
        jsonwebtoken::encode(&header, &claims, &self.signing).map_err(|e| format!("cannot sign a DPoP proof: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_carries_the_public_key_and_the_claims_okta_checks() {
        let key = DpopKey::generate().unwrap();
        let url = Url::parse("https://acme.okta.com/api/v1/users?limit=200&after=x#f").unwrap();
        let proof = key.proof("GET", &url, Some("n1"), Some("hash")).unwrap();
        let header = jsonwebtoken::decode_header(&proof).unwrap();
        assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
        assert_eq!(header.alg, Algorithm::ES256);
        let jwk = header.jwk.expect("jwk in the header");
        let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<serde_json::Value>(&proof, &decoding, &validation).unwrap().claims;
        assert_eq!(claims["htu"], "https://acme.okta.com/api/v1/users");
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["nonce"], "n1");
        assert_eq!(claims["ath"], "hash");
        let other = key.proof("GET", &url, None, None).unwrap();
        let jti = |p: &str| {
            jsonwebtoken::decode::<serde_json::Value>(p, &decoding, &validation).unwrap().claims["jti"].clone()
        };
        assert_ne!(jti(&proof), jti(&other), "a fresh jti per proof");
    }
}
