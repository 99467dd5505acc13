//! OAuth 2.0 for Okta's management API, as Okta documents it (developer.okta.com guides
//! implement-oauth-for-okta-serviceapp and dpop): the org authorization server's `POST /oauth2/v1/token`
//! takes only `grant_type=client_credentials` with a `private_key_jwt` client assertion; DPoP is required
//! by default (new API service apps); tokens last an hour and are bound to the DPoP key; every API call
//! carries `Authorization: DPoP <token>` and a fresh proof with `ath`; each endpoint needs its scope.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// `--oauth-client CLIENT_ID:KEY_FILE:SCOPE,SCOPE[:nodpop]`: a registered API service app.
pub struct OAuthClient {
    pub id: String,
    /// The public key in PEM, or the keys of a JWKS (with their kids).
    keys: Vec<(Option<String>, PublicKey)>,
    scopes: Vec<String>,
    dpop: bool,
    revoked: AtomicBool,
}

enum PublicKey {
    Pem(Vec<u8>),
    Jwk(Box<Jwk>),
}

/// Why a request is refused, as Okta words it (RFC 6749 §5.2, RFC 9449).
#[derive(Debug, PartialEq, Eq)]
pub struct OAuthRefusal {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
    /// A nonce to retry with (use_dpop_nonce).
    pub nonce: Option<String>,
}

fn refuse(status: u16, error: &'static str, description: impl Into<String>) -> OAuthRefusal {
    OAuthRefusal { status, error, description: description.into(), nonce: None }
}

/// An issued access token.
struct Issued {
    client: String,
    scopes: Vec<String>,
    /// The DPoP key's thumbprint the token is bound to.
    jkt: Option<String>,
    expires: Instant,
}

/// A bounded set of used `jti`s: a replayed assertion or proof is refused.
#[derive(Default)]
struct Replays {
    order: VecDeque<String>,
    seen: HashSet<String>,
}

impl Replays {
    fn fresh(&mut self, jti: &str) -> bool {
        if !self.seen.insert(jti.to_string()) {
            return false;
        }
        self.order.push_back(jti.to_string());
        if self.order.len() > 100_000
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }
}

struct Nonces {
    current: String,
    previous: Option<String>,
    rotated: Instant,
}

pub struct OAuthSettings {
    pub token_lifetime: Duration,
    /// The DPoP nonce changes this often; the previous one stays valid for one more period.
    pub nonce_rotation: Duration,
    /// Also require a server nonce in API proofs (RFC 9449 §9; Okta does not currently for its APIs).
    pub api_nonce: bool,
}

pub struct OAuthServer {
    clients: HashMap<String, OAuthClient>,
    settings: OAuthSettings,
    tokens: Mutex<HashMap<String, Issued>>,
    replays: Mutex<Replays>,
    nonces: Mutex<Nonces>,
    token_requests: AtomicU64,
}

fn random(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

impl OAuthClient {
    pub fn parse(spec: &str) -> Result<OAuthClient, String> {
        let parts: Vec<&str> = spec.splitn(4, ':').collect();
        let (id, file, scopes) = match parts.as_slice() {
            [id, file, scopes, ..] => (*id, *file, *scopes),
            _ => {
                return Err(format!("--oauth-client {spec:?}: write CLIENT_ID:KEY_FILE:SCOPE,SCOPE[:nodpop]"));
            }
        };
        let dpop = match parts.get(3) {
            None => true,
            Some(&"nodpop") => false,
            Some(other) => {
                return Err(format!("--oauth-client {spec:?}: unknown option {other:?} (nodpop)"));
            }
        };
        let raw = std::fs::read(file).map_err(|e| format!("--oauth-client {spec:?}: cannot read {file}: {e}"))?;
        let keys = if raw.trim_ascii_start().starts_with(b"{") {
            let set: JwkSet = serde_json::from_slice(&raw)
                .map_err(|e| format!("--oauth-client {spec:?}: {file} is not a JWKS: {e}"))?;
            set.keys.into_iter().map(|k| (k.common.key_id.clone(), PublicKey::Jwk(Box::new(k)))).collect()
        } else {
            vec![(None, PublicKey::Pem(raw))]
        };
        Ok(OAuthClient {
            id: id.to_string(),
            keys,
            scopes: scopes.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
            dpop,
            revoked: AtomicBool::new(false),
        })
    }

    fn decoding_key(&self, kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
        let rsa = matches!(alg, Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512);
        self.keys.iter().filter(|(k, _)| kid.is_none() || k.is_none() || k.as_deref() == kid).find_map(|(_, key)| {
            match key {
                PublicKey::Pem(pem) if rsa => DecodingKey::from_rsa_pem(pem).ok(),
                PublicKey::Pem(pem) => DecodingKey::from_ec_pem(pem).ok(),
                PublicKey::Jwk(jwk) => DecodingKey::from_jwk(jwk).ok(),
            }
        })
    }
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    exp: u64,
    jti: Option<String>,
}

#[derive(Deserialize)]
struct ProofClaims {
    htm: String,
    htu: String,
    iat: u64,
    jti: String,
    nonce: Option<String>,
    ath: Option<String>,
}

/// The client assertions Okta accepts: RS256/384/512 and ES256/384/512 (we verify what jsonwebtoken can).
const ASSERTION_ALGS: [Algorithm; 5] =
    [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::ES256, Algorithm::ES384];

impl OAuthServer {
    pub fn new(clients: Vec<OAuthClient>, settings: OAuthSettings) -> OAuthServer {
        OAuthServer {
            clients: clients.into_iter().map(|c| (c.id.clone(), c)).collect(),
            settings,
            tokens: Mutex::new(HashMap::new()),
            replays: Mutex::new(Replays::default()),
            nonces: Mutex::new(Nonces { current: random(24), previous: None, rotated: Instant::now() }),
            token_requests: AtomicU64::new(0),
        }
    }

    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    /// Revokes a client (as deactivating the app or removing its key would): its tokens stop working.
    pub fn revoke(&self, id: &str) -> bool {
        let Some(client) = self.clients.get(id) else {
            return false;
        };
        client.revoked.store(true, Ordering::SeqCst);
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, t| t.client != id);
        true
    }

    /// The current nonce, rotating it when its period is over.
    fn nonce(&self) -> (String, Option<String>) {
        let mut n = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        if n.rotated.elapsed() >= self.settings.nonce_rotation {
            n.previous = Some(std::mem::replace(&mut n.current, random(24)));
            n.rotated = Instant::now();
        }
        (n.current.clone(), n.previous.clone())
    }

    fn nonce_ok(&self, given: Option<&str>) -> Result<(), OAuthRefusal> {
        let (current, previous) = self.nonce();
        match given {
            Some(n) if n == current || previous.as_deref() == Some(n) => Ok(()),
            _ => Err(OAuthRefusal {
                nonce: Some(current),
                ..refuse(400, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof.")
            }),
        }
    }

    fn fresh_jti(&self, jti: &str) -> bool {
        self.replays.lock().unwrap_or_else(|p| p.into_inner()).fresh(jti)
    }

    /// Verifies a DPoP proof for `method` `url` (no query); returns the key's thumbprint.
    fn proof(
        &self,
        proof: Option<&str>,
        method: &str,
        url: &str,
        ath: Option<&str>,
        nonce_required: bool,
        status: u16,
    ) -> Result<String, OAuthRefusal> {
        let bad = |why: &str| refuse(status, "invalid_dpop_proof", format!("The DPoP proof JWT is invalid: {why}."));
        let proof = proof.ok_or_else(|| bad("the DPoP header is missing"))?;
        let header = jsonwebtoken::decode_header(proof).map_err(|_| bad("it is not a JWT"))?;
        if header.typ.as_deref() != Some("dpop+jwt") {
            return Err(bad("typ must be dpop+jwt"));
        }
        let jwk = header.jwk.ok_or_else(|| bad("the header has no jwk"))?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| bad("the jwk is not a public key"))?;
        let mut validation = Validation::new(header.alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<ProofClaims>(proof, &key, &validation)
            .map_err(|_| bad("the signature does not verify"))?
            .claims;
        if claims.htm != method || claims.htu != url {
            return Err(bad("htm or htu do not match the request"));
        }
        if claims.iat.abs_diff(now_secs()) > 300 {
            return Err(bad("iat is not recent"));
        }
        if let Some(want) = ath
            && claims.ath.as_deref() != Some(want)
        {
            return Err(bad("ath does not match the access token"));
        }
        if nonce_required {
            self.nonce_ok(claims.nonce.as_deref())?;
        }
        if !self.fresh_jti(&claims.jti) {
            return Err(bad("its jti was used before"));
        }
        jwk.thumbprint(ThumbprintHash::SHA256).map_err(|_| bad("no thumbprint"))
    }

    fn assertion(&self, form: &HashMap<String, String>, token_url: &str) -> Result<&OAuthClient, OAuthRefusal> {
        let invalid = |why: &str| refuse(401, "invalid_client", format!("Client authentication failed: {why}"));
        if form.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return Err(invalid("only private_key_jwt is accepted for this client"));
        }
        let jwt = form.get("client_assertion").ok_or_else(|| invalid("no client_assertion"))?;
        let header = jsonwebtoken::decode_header(jwt).map_err(|_| invalid("the assertion is not a JWT"))?;
        if !ASSERTION_ALGS.contains(&header.alg) {
            return Err(invalid("unsupported signing algorithm"));
        }
        let unverified: serde_json::Value = jwt
            .split('.')
            .nth(1)
            .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| invalid("unreadable claims"))?;
        let id = unverified["iss"].as_str().unwrap_or_default();
        let client = self.clients.get(id).ok_or_else(|| invalid("the client is unknown"))?;
        if client.revoked.load(Ordering::SeqCst) {
            return Err(invalid("the client is deactivated"));
        }
        let key = client
            .decoding_key(header.kid.as_deref(), header.alg)
            .ok_or_else(|| invalid("no registered key matches the kid"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[token_url]);
        validation.set_issuer(&[client.id.as_str()]);
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<AssertionClaims>(jwt, &key, &validation)
            .map_err(|e| invalid(&format!("the assertion does not verify ({e})")))?
            .claims;
        if claims.sub != client.id || claims.iss != client.id {
            return Err(invalid("iss and sub must both be the client id"));
        }
        if claims.exp > now_secs() + 3600 {
            return Err(invalid("exp is more than an hour ahead"));
        }
        let jti = claims.jti.ok_or_else(|| invalid("no jti"))?;
        if !self.fresh_jti(&format!("assertion:{jti}")) {
            return Err(invalid("the assertion's jti was used before"));
        }
        Ok(client)
    }

    /// `POST /oauth2/v1/token` (form-encoded); Ok is the JSON answer.
    pub fn token(
        &self,
        form: &HashMap<String, String>,
        dpop: Option<&str>,
        token_url: &str,
    ) -> Result<serde_json::Value, OAuthRefusal> {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return Err(refuse(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            ));
        }
        let client = self.assertion(form, token_url)?;
        let requested: Vec<String> =
            form.get("scope").map(|s| s.split_whitespace().map(String::from).collect()).unwrap_or_default();
        if requested.is_empty() {
            return Err(refuse(
                400,
                "invalid_scope",
                "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
            ));
        }
        let denied: Vec<&String> = requested.iter().filter(|s| !client.scopes.contains(s)).collect();
        if !denied.is_empty() {
            let names: Vec<&str> = denied.iter().map(|s| s.as_str()).collect();
            return Err(refuse(
                400,
                "invalid_scope",
                format!("The following scopes are not allowed: {}", names.join(", ")),
            ));
        }
        let jkt = if client.dpop { Some(self.proof(dpop, "POST", token_url, None, true, 400)?) } else { None };
        let token = format!("eyJ.{}", random(32));
        let lifetime = self.settings.token_lifetime;
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(
            token.clone(),
            Issued {
                client: client.id.clone(),
                scopes: requested.clone(),
                jkt: jkt.clone(),
                expires: Instant::now() + lifetime,
            },
        );
        Ok(serde_json::json!({
            "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
            "expires_in": lifetime.as_secs(),
            "access_token": token,
            "scope": requested.join(" "),
        }))
    }

    /// Checks an API request's access token (and its DPoP proof); Ok is the token's scopes.
    pub fn check(
        &self,
        authorization: &str,
        dpop: Option<&str>,
        method: &str,
        url: &str,
    ) -> Result<(String, Vec<String>), OAuthRefusal> {
        let (scheme, token) = authorization.split_once(' ').unwrap_or(("", ""));
        let invalid = || refuse(401, "invalid_token", "The access token is invalid.");
        let issued = {
            let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
            let t = tokens.get(token).ok_or_else(invalid)?;
            if Instant::now() >= t.expires {
                return Err(refuse(401, "invalid_token", "The access token is expired."));
            }
            (t.client.clone(), t.scopes.clone(), t.jkt.clone())
        };
        match (&issued.2, scheme) {
            (Some(jkt), "DPoP") => {
                let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
                let thumb = self.proof(dpop, method, url, Some(&ath), self.settings.api_nonce, 401)?;
                if &thumb != jkt {
                    return Err(refuse(
                        401,
                        "invalid_dpop_proof",
                        "The DPoP proof JWT is invalid: its key is not the one the token is bound to.",
                    ));
                }
            }
            (None, "Bearer") => {}
            _ => return Err(invalid()),
        }
        Ok((issued.0, issued.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_specs() {
        assert!(OAuthClient::parse("only-two:parts").is_err());
        assert!(OAuthClient::parse("c:/nonexistent:okta.users.read").is_err());
        let dir = std::env::temp_dir().join(format!("okta-sim-oauth-{}", std::process::id()));
        std::fs::write(&dir, br#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#).unwrap();
        let c = OAuthClient::parse(&format!("0oa1:{}:okta.users.read,okta.apps.read:nodpop", dir.display())).unwrap();
        assert!(!c.dpop && c.scopes.len() == 2 && c.keys[0].0.as_deref() == Some("k1"));
        let _ = std::fs::remove_file(dir);
    }

    #[test]
    fn nonces_rotate_and_the_previous_one_still_works() {
        let s = OAuthServer::new(
            vec![],
            OAuthSettings {
                token_lifetime: Duration::from_secs(3600),
                nonce_rotation: Duration::from_millis(1),
                api_nonce: false,
            },
        );
        let (first, _) = s.nonce();
        std::thread::sleep(Duration::from_millis(5));
        let (second, previous) = s.nonce();
        assert_ne!(first, second);
        assert_eq!(previous.as_deref(), Some(first.as_str()));
        let refusal = s.nonce_ok(None).unwrap_err();
        assert_eq!(refusal.error, "use_dpop_nonce");
        assert!(refusal.nonce.is_some());
    }
}
