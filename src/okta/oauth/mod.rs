//! OAuth 2.0 for Okta's management API with an API service app (developer.okta.com guides
//! implement-oauth-for-okta-serviceapp and dpop): client credentials from the org authorization server,
//! client authentication by a signed assertion (private_key_jwt), DPoP-bound access tokens cached until
//! five minutes before they expire, and nonces learnt from the token endpoint and from API answers.

mod dpop;
pub(crate) mod keys;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::body::read_capped;
use super::error::OktaError;
use crate::text;
pub(crate) use dpop::DpopKey;
pub(crate) use keys::SigningKey;

const TOKEN_PATH: &str = "/oauth2/v1/token";
/// Renew this long before the token expires.
const RENEW_BEFORE: Duration = Duration::from_secs(300);
/// use_dpop_nonce round trips allowed for one token request.
const NONCE_ROUNDS: u32 = 2;
const TOKEN_BODY_LIMIT: usize = 64 * 1024;

/// What the integration's Secret and spec say about the service app.
#[derive(Clone, Debug)]
pub(crate) struct OAuthConfig {
    pub(crate) client_id: String,
    pub(crate) key: SigningKey,
    pub(crate) key_id: Option<String>,
    pub(crate) scopes: Vec<String>,
}

struct CachedToken {
    value: SecretString,
    dpop: bool,
    ath: String,
    renew_at: Instant,
}

#[derive(Default)]
struct Nonces {
    token: Option<String>,
    api: Option<String>,
}

/// One integration's OAuth state: the DPoP key, the cached access token and the nonces. The cached token
/// is read under a short lock that is never held across the network; one token request at a time goes
/// out (the others wait for it), and it and its body read end within `answer_timeout`, so a token
/// endpoint that never answers fails requests instead of holding them forever.
pub(crate) struct OAuthSession {
    config: OAuthConfig,
    token_url: Url,
    dpop: DpopKey,
    token: Mutex<Option<Arc<CachedToken>>>,
    refresh: tokio::sync::Mutex<()>,
    answer_timeout: Duration,
    nonces: Mutex<Nonces>,
    token_requests: AtomicU64,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// What an API answer's WWW-Authenticate asks of the client.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// Retry with the nonce the server just sent.
    UseNonce,
    /// The token is no longer accepted: get a new one and retry once.
    InvalidToken,
    /// The token lacks this scope.
    InsufficientScope(String),
    None,
}

fn epoch_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

fn header_nonce(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("dpop-nonce")?.to_str().ok()?;
    (value.len() <= 512 && value.bytes().all(|b| b.is_ascii_graphic())).then(|| value.to_string())
}

/// Reads `error="..."` and `scope="..."` from a WWW-Authenticate value (RFC 6750 §3, RFC 9449 §7.1).
pub(crate) fn challenge(headers: &HeaderMap) -> Challenge {
    let Some(value) = headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()) else {
        return Challenge::None;
    };
    let param = |name: &str| {
        let key = format!("{name}=\"");
        let start = value.find(&key)? + key.len();
        let end = value[start..].find('"')?;
        Some(value[start..start + end].to_string())
    };
    match param("error").as_deref() {
        Some("use_dpop_nonce") => Challenge::UseNonce,
        Some("invalid_token") => Challenge::InvalidToken,
        Some("insufficient_scope") => Challenge::InsufficientScope(text::field(&param("scope").unwrap_or_default())),
        _ => Challenge::None,
    }
}

impl OAuthSession {
    pub(crate) fn new(config: OAuthConfig, base: &Url, answer_timeout: Duration) -> Result<OAuthSession, String> {
        let token_url = base.join(TOKEN_PATH).map_err(|e| format!("cannot build the token URL: {e}"))?;
        Ok(OAuthSession {
            config,
            token_url,
            dpop: DpopKey::generate()?,
            token: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
            answer_timeout,
            nonces: Mutex::new(Nonces::default()),
            token_requests: AtomicU64::new(0),
        })
    }

    /// Whether this session belongs to the org at `base` (its token URL and assertion audience are that
    /// org's): a session is never reused for another org.
    pub(crate) fn serves(&self, base: &Url) -> bool {
        self.token_url.origin() == base.origin()
    }

    /// Token requests sent so far (for the closing numbers: one per hour is the goal).
    pub(crate) fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    fn nonce(&self, api: bool) -> Option<String> {
        let nonces = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        if api { nonces.api.clone() } else { nonces.token.clone() }
    }

    fn set_nonce(&self, api: bool, nonce: Option<String>) {
        if let Some(n) = nonce {
            let mut nonces = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
            if api {
                nonces.api = Some(n);
            } else {
                nonces.token = Some(n);
            }
        }
    }

    /// Remembers a rotated nonce from any API answer.
    pub(crate) fn observe(&self, headers: &HeaderMap) {
        self.set_nonce(true, header_nonce(headers));
    }

    /// Handles a 401 answer: true when the request is worth repeating at once.
    pub(crate) async fn on_unauthorized(&self, headers: &HeaderMap) -> bool {
        match challenge(headers) {
            Challenge::UseNonce => {
                let nonce = header_nonce(headers);
                let fresh = nonce.is_some();
                self.set_nonce(true, nonce);
                fresh
            }
            Challenge::InvalidToken => {
                *self.token.lock().unwrap_or_else(|p| p.into_inner()) = None;
                true
            }
            _ => false,
        }
    }

    /// The Authorization and DPoP headers for one API request.
    pub(crate) async fn headers(
        &self,
        http: &reqwest::Client,
        method: &str,
        url: &Url,
    ) -> Result<HeaderMap, OktaError> {
        let token = self.current_token(http).await?;
        let mut headers = HeaderMap::new();
        let scheme = if token.dpop { "DPoP" } else { "Bearer" };
        let mut value = HeaderValue::from_str(&format!("{scheme} {}", token.value.expose_secret()))
            .map_err(|_| self.local_error("the access token is not a valid header value".into()))?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
        if token.dpop {
            let proof = self
                .dpop
                .proof(method, url, self.nonce(true).as_deref(), Some(&token.ath))
                .map_err(|e| self.local_error(e))?;
            headers.insert("dpop", self.proof_header(proof)?);
        }
        Ok(headers)
    }

    fn cached_token(&self) -> Option<Arc<CachedToken>> {
        let guard = self.token.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().filter(|t| Instant::now() < t.renew_at).cloned()
    }

    /// The cached token, or a new one: one request at a time, the others waiting for it at most as long as
    /// a request may take.
    async fn current_token(&self, http: &reqwest::Client) -> Result<Arc<CachedToken>, OktaError> {
        if let Some(t) = self.cached_token() {
            return Ok(t);
        }
        let timeout = || OktaError::Timeout { endpoint: format!("POST {TOKEN_PATH}"), timeout: self.answer_timeout };
        let _one_at_a_time =
            tokio::time::timeout(self.answer_timeout, self.refresh.lock()).await.map_err(|_| timeout())?;
        if let Some(t) = self.cached_token() {
            return Ok(t);
        }
        let fresh = Arc::new(
            tokio::time::timeout(self.answer_timeout, self.request_token(http)).await.map_err(|_| timeout())??,
        );
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(fresh.clone());
        Ok(fresh)
    }

    fn proof_header(&self, proof: String) -> Result<HeaderValue, OktaError> {
        let mut value = HeaderValue::from_str(&proof)
            .map_err(|_| self.local_error("a DPoP proof is not a valid header value".into()))?;
        value.set_sensitive(true);
        Ok(value)
    }

    fn local_error(&self, message: String) -> OktaError {
        OktaError::Transport { endpoint: format!("POST {TOKEN_PATH}"), message }
    }

    /// The signed client assertion: iss = sub = client id, aud = the token URL, at most an hour (we use
    /// five minutes), a fresh jti, and the registered kid.
    fn assertion(&self) -> Result<String, OktaError> {
        let mut header = jsonwebtoken::Header::new(self.config.key.algorithm);
        header.kid = self.config.key_id.clone().or_else(|| self.config.key.jwk_kid.clone());
        let now = epoch_seconds();
        let aud = self.token_url.to_string();
        let claims = AssertionClaims {
            iss: &self.config.client_id,
            sub: &self.config.client_id,
            aud: &aud,
            iat: now,
            exp: now + 300,
            jti: dpop::random_id(),
        };
        jsonwebtoken::encode(&header, &claims, &self.config.key.key)
            .map_err(|e| self.local_error(format!("cannot sign the client assertion: {e}")))
    }

    async fn request_token(&self, http: &reqwest::Client) -> Result<CachedToken, OktaError> {
        let endpoint = format!("POST {TOKEN_PATH}");
        let mut rounds = 0;
        loop {
            self.token_requests.fetch_add(1, Ordering::Relaxed);
            let form = [
                ("grant_type", "client_credentials".to_string()),
                ("scope", self.config.scopes.join(" ")),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string()),
                ("client_assertion", self.assertion()?),
            ];
            let proof = self
                .dpop
                .proof("POST", &self.token_url, self.nonce(false).as_deref(), None)
                .map_err(|e| self.local_error(e))?;
            let response = http
                .post(self.token_url.clone())
                .timeout(self.answer_timeout)
                .header("accept", "application/json")
                .header("dpop", self.proof_header(proof)?)
                .form(&form)
                .send()
                .await
                .map_err(|e| match e.is_timeout() {
                    true => OktaError::Timeout { endpoint: endpoint.clone(), timeout: self.answer_timeout },
                    false => OktaError::Transport {
                        endpoint: endpoint.clone(),
                        message: super::transport::describe_transport(&e),
                    },
                })?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = read_capped(response, TOKEN_BODY_LIMIT, &endpoint).await?;
            if (200..300).contains(&status) {
                return self.cached(&body, &endpoint);
            }
            let error: Option<OAuthErrorBody> = serde_json::from_slice(&body).ok();
            if let Some(e) = &error
                && e.error == "use_dpop_nonce"
                && rounds < NONCE_ROUNDS
                && let Some(nonce) = header_nonce(&headers)
            {
                rounds += 1;
                self.set_nonce(false, Some(nonce));
                continue;
            }
            return Err(match error {
                Some(e) => OktaError::OAuth {
                    endpoint,
                    status,
                    code: text::field(&e.error),
                    description: text::field(&e.error_description),
                },
                None => OktaError::Status { endpoint, status },
            });
        }
    }

    fn cached(&self, body: &[u8], endpoint: &str) -> Result<CachedToken, OktaError> {
        let answer: TokenAnswer = serde_json::from_slice(body).map_err(|e| OktaError::Malformed {
            endpoint: endpoint.to_string(),
            message: text::field(&e.to_string()),
        })?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600).clamp(60, 86_400));
        let early = if lifetime > RENEW_BEFORE * 2 { RENEW_BEFORE } else { lifetime / 2 };
        Ok(CachedToken {
            ath: dpop::token_hash(&answer.access_token),
            dpop: answer.token_type.eq_ignore_ascii_case("dpop"),
            value: SecretString::from(answer.access_token),
            renew_at: Instant::now() + lifetime - early,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(base: &str, timeout: Duration) -> OAuthSession {
        let mut d = [0u8; 32];
        d[31] = 7;
        let jwk = format!(
            r#"{{"kty":"EC","crv":"P-256","d":"{}","x":"","y":""}}"#,
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, d)
        );
        let config = OAuthConfig {
            client_id: "0oaclient".into(),
            key: SigningKey::parse(jwk.as_bytes()).expect("a key"),
            key_id: None,
            scopes: vec!["okta.users.read".into()],
        };
        OAuthSession::new(config, &Url::parse(base).expect("a URL"), timeout).expect("a session")
    }

    #[tokio::test]
    async fn a_token_endpoint_that_never_answers_fails_requests_in_bounded_time() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                held.push(conn); // accepted, never answered
            }
        });
        let session = Arc::new(session(&base, Duration::from_millis(300)));
        let http = reqwest::Client::new();
        let url = Url::parse(&format!("{base}/api/v1/users")).expect("a URL");
        let started = Instant::now();
        let calls = (0..3).map(|_| {
            let (session, http, url) = (session.clone(), http.clone(), url.clone());
            tokio::spawn(async move { session.headers(&http, "GET", &url).await })
        });
        for call in futures::future::join_all(calls).await {
            let got = call.expect("no panic");
            assert!(matches!(got, Err(OktaError::Timeout { .. })), "{:?}", got.err());
        }
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    }

    #[test]
    fn a_session_serves_only_its_own_org() {
        let s = session("https://acme.okta.com", Duration::from_secs(1));
        assert!(s.serves(&Url::parse("https://acme.okta.com/").expect("a URL")));
        assert!(!s.serves(&Url::parse("https://other.okta.com/").expect("a URL")));
        assert!(!s.serves(&Url::parse("https://acme.okta.com:8443/").expect("a URL")));
    }

    #[test]
    fn challenges_are_read_from_www_authenticate() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(WWW_AUTHENTICATE, HeaderValue::from_static(v));
            challenge(&h)
        };
        assert_eq!(
            with(r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#),
            Challenge::UseNonce
        );
        assert_eq!(with(r#"DPoP error="invalid_token""#), Challenge::InvalidToken);
        assert_eq!(
            with(r#"Bearer authorization_uri="x", realm="IdP", scope="okta.logs.read", error="insufficient_scope""#),
            Challenge::InsufficientScope("okta.logs.read".into())
        );
        assert_eq!(with("Basic realm=\"x\""), Challenge::None);
        assert_eq!(challenge(&HeaderMap::new()), Challenge::None);
    }
}
