//! The HTTP client under the Okta client: no redirects (one could carry a token to another host), a DNS
//! resolver that drops forbidden addresses, proxies only when configured on purpose (HTTPS_PROXY and
//! NO_PROXY, read explicitly rather than implicitly by the HTTP library), and a private CA bundle.
//! Through a proxy the proxy resolves the name, so the client resolves the target itself first and
//! refuses it if it points at a forbidden address (the guard runs before the CONNECT).

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use url::Url;

use super::domain::{guarded_resolver, resolve_allowed};
use crate::sync::lock;

/// How long a target's resolution check holds before it is repeated.
const TARGET_CHECK_TTL: Duration = Duration::from_secs(60);

/// An explicitly configured HTTPS proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProxySettings {
    pub(crate) url: Url,
    /// Hosts reached directly: comma-separated names or suffixes (".acme.com"), `*` for all.
    pub(crate) no_proxy: String,
}

impl ProxySettings {
    /// HTTPS_PROXY (or https_proxy) and NO_PROXY (or no_proxy) from the environment.
    pub(crate) fn from_env() -> Result<Option<ProxySettings>, String> {
        let var = |a: &str, b: &str| std::env::var(a).or_else(|_| std::env::var(b)).ok();
        let Some(raw) = var("HTTPS_PROXY", "https_proxy").filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        let url = Url::parse(raw.trim())
            .map_err(|e| format!("HTTPS_PROXY is not a URL ({e}): write it like http://proxy.internal:3128"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err("HTTPS_PROXY must be an http:// or https:// URL with a host".into());
        }
        Ok(Some(ProxySettings { url, no_proxy: var("NO_PROXY", "no_proxy").unwrap_or_default() }))
    }

    /// Whether requests to `host` go through the proxy.
    pub(crate) fn applies_to(&self, host: &str) -> bool {
        !self.no_proxy.split(',').map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
            let entry = entry.trim_start_matches('.').to_ascii_lowercase();
            entry == "*" || host == entry || host.ends_with(&format!(".{entry}"))
        })
    }
}

/// How to reach Okta.
#[derive(Clone, Debug, Default)]
pub(crate) struct TransportOptions {
    /// Development and tests only: allow connecting to loopback and private addresses.
    pub(crate) allow_local: bool,
    pub(crate) proxy: Option<ProxySettings>,
    /// PEM certificates trusted besides the public roots (a private CA of a TLS-inspecting proxy).
    pub(crate) ca_pem: Option<Vec<u8>>,
}

impl TransportOptions {
    pub(crate) fn read_ca_file(path: &Path) -> Result<Vec<u8>, String> {
        let pem = std::fs::read(path).map_err(|e| format!("cannot read --ca-file {}: {e}", path.display()))?;
        reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("--ca-file {} holds no PEM certificate: {e}", path.display()))?;
        Ok(pem)
    }
}

/// The reqwest client for one org, and the target check that guards it behind a proxy.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    proxied_host: Option<String>,
    allow_local: bool,
    checked: Mutex<Option<Instant>>,
}

impl Transport {
    pub(crate) fn new(host: &str, options: &TransportOptions) -> Result<Transport, String> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("dti-operator/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(guarded_resolver(options.allow_local))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        let mut proxied_host = None;
        if let Some(proxy) = &options.proxy {
            let mut p =
                reqwest::Proxy::https(proxy.url.as_str()).map_err(|e| format!("cannot use HTTPS_PROXY: {e}"))?;
            p = p.no_proxy(reqwest::NoProxy::from_string(&proxy.no_proxy));
            builder = builder.proxy(p);
            if proxy.applies_to(host) {
                proxied_host = Some(host.to_string());
            }
        }
        if let Some(pem) = &options.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Transport { http, proxied_host, allow_local: options.allow_local, checked: Mutex::new(None) })
    }

    /// Behind a proxy: resolves the target and refuses it when it points only at forbidden addresses.
    pub(crate) async fn check_target(&self) -> Result<(), String> {
        let Some(host) = &self.proxied_host else {
            return Ok(());
        };
        if lock(&self.checked).is_some_and(|at| at.elapsed() < TARGET_CHECK_TTL) {
            return Ok(());
        }
        resolve_allowed(host, self.allow_local).await?;
        *lock(&self.checked) = Some(Instant::now());
        Ok(())
    }
}

/// reqwest's error without its URL, with its causes.
pub(crate) fn describe_transport(e: &reqwest::Error) -> String {
    let mut message = if e.is_body() || e.is_decode() {
        "the connection broke while reading the answer".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    crate::text::message(&message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_entries() {
        let p = ProxySettings {
            url: Url::parse("http://proxy:3128").unwrap(),
            no_proxy: "internal.example, .corp.example ,svc".into(),
        };
        assert!(p.applies_to("acme.okta.com"));
        assert!(!p.applies_to("internal.example"));
        assert!(!p.applies_to("a.corp.example"));
        assert!(!p.applies_to("x.svc"));
        assert!(p.applies_to("notcorp.example"));
        let all = ProxySettings { no_proxy: "*".into(), ..p };
        assert!(!all.applies_to("acme.okta.com"));
    }

    #[tokio::test]
    async fn behind_a_proxy_a_forbidden_target_is_refused_before_any_request() {
        let options = TransportOptions {
            proxy: Some(ProxySettings { url: Url::parse("http://127.0.0.1:9").unwrap(), no_proxy: String::new() }),
            ..TransportOptions::default()
        };
        let t = Transport::new("localhost", &options).unwrap();
        let e = t.check_target().await.unwrap_err();
        assert!(e.contains("never connects to"), "{e}");
    }
}
