//! Turning `spec.domain` into an org URL without becoming an SSRF proxy: the operator holds tokens inside
//! clusters, so it only talks to Okta's own domains (or suffixes an admin allowed, never a public suffix
//! such as `com`), never to IP literals, and never connects to the addresses in [`super::addresses`],
//! whatever a name resolves to.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use super::addresses;

/// Okta's own domains (orgs, preview orgs, EMEA cell, Okta for Government, Okta's cloud).
pub(crate) const OKTA_DOMAINS: [&str; 6] =
    ["okta.com", "oktapreview.com", "okta-emea.com", "okta-gov.com", "okta.mil", "trexcloud.com"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum DomainError {
    #[error("domain {0:?} is not a host name with an optional port (write it like acme.okta.com)")]
    Malformed(String),
    #[error("domain {0:?} is an IP address: use the org's Okta domain name")]
    IpLiteral(String),
    #[error("domain {0:?} is a loopback or local name (allowed only with --insecure-allow-http)")]
    Loopback(String),
    #[error(
        "domain {0:?} is not an Okta domain (okta.com, oktapreview.com, okta-emea.com, okta-gov.com, okta.mil, trexcloud.com){1}"
    )]
    NotAllowed(String, String),
    #[error(
        "{0:?} cannot be an allowed domain: it is a public suffix (or a single label), which would let the operator send tokens to anyone's domain; allow the organization's own domain, such as acme.com"
    )]
    PublicSuffix(String),
}

/// Which domains the operator may send credentials to.
#[derive(Clone, Debug, Default)]
pub(crate) struct DomainPolicy {
    /// Extra allowed suffixes, for custom domains (`--allow-domain`), checked by [`DomainPolicy::new`].
    allowed_suffixes: Vec<String>,
    /// Development and tests only: http and loopback are allowed.
    pub(crate) insecure_allow_http: bool,
}

/// A validated org base URL (`https://host[:port]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OrgUrl {
    pub(crate) base: Url,
    pub(crate) host: String,
}

impl OrgUrl {
    /// scheme://host:port, the key of the org's rate governor.
    pub(crate) fn origin(&self) -> String {
        self.base.origin().ascii_serialization()
    }
}

fn is_loopback_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// A suffix an admin may allow: a registrable domain or below, never a public suffix.
fn check_suffix(raw: &str) -> Result<String, DomainError> {
    let suffix = raw.trim().trim_start_matches('.').trim_end_matches('.').to_ascii_lowercase();
    let valid = !suffix.is_empty()
        && suffix.split('.').all(|label| {
            !label.is_empty() && label.len() <= 63 && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !valid {
        return Err(DomainError::Malformed(raw.to_string()));
    }
    if !suffix.contains('.') || psl::domain_str(&suffix).is_none() {
        return Err(DomainError::PublicSuffix(raw.to_string()));
    }
    Ok(suffix)
}

impl DomainPolicy {
    /// A policy allowing Okta's domains plus `allowed` suffixes; a public suffix is refused.
    pub(crate) fn new(allowed: &[String], insecure_allow_http: bool) -> Result<DomainPolicy, DomainError> {
        Ok(DomainPolicy {
            allowed_suffixes: allowed.iter().map(|s| check_suffix(s)).collect::<Result<_, _>>()?,
            insecure_allow_http,
        })
    }

    fn allows(&self, host: &str) -> bool {
        OKTA_DOMAINS
            .iter()
            .copied()
            .chain(self.allowed_suffixes.iter().map(String::as_str))
            .any(|suffix| host == suffix || host.ends_with(&format!(".{suffix}")))
    }

    /// What to tell the user about a refused custom domain: the registrable domain to allow, never a
    /// public suffix.
    fn advice(host: &str) -> String {
        match psl::domain_str(host) {
            Some(registrable) => format!(
                "; for a custom domain, start the operator with --allow-domain {registrable} (Helm: allowedDomains)"
            ),
            None => String::new(),
        }
    }

    pub(crate) fn check(&self, domain: &str) -> Result<OrgUrl, DomainError> {
        let malformed = || DomainError::Malformed(domain.to_string());
        if domain.is_empty()
            || domain.len() > 260
            || domain.contains(|c: char| c.is_whitespace() || c.is_control() || "/?#@\\".contains(c))
        {
            return Err(malformed());
        }
        let parsed = Url::parse(&format!("https://{domain}")).map_err(|_| malformed())?;
        let host = parsed.host_str().ok_or_else(malformed)?.trim_end_matches('.').to_ascii_lowercase();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let ip = bare.parse::<IpAddr>().ok();
        let local = is_loopback_name(&host) || ip.is_some_and(|ip| ip.is_loopback());
        if local {
            if !self.insecure_allow_http {
                return Err(DomainError::Loopback(domain.to_string()));
            }
        } else if ip.is_some() {
            return Err(DomainError::IpLiteral(domain.to_string()));
        } else if !self.allows(&host) {
            return Err(DomainError::NotAllowed(domain.to_string(), Self::advice(&host)));
        }
        let scheme = if local { "http" } else { "https" };
        let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
        let base = Url::parse(&format!("{scheme}://{}{port}", parsed.host_str().unwrap_or_default()))
            .map_err(|_| malformed())?;
        Ok(OrgUrl { base, host })
    }
}

/// Resolves `host` and drops forbidden addresses; an error when nothing is left.
pub(crate) async fn resolve_allowed(host: &str, allow_local: bool) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> =
        tokio::net::lookup_host((host, 0)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?.collect();
    let allowed: Vec<SocketAddr> =
        addrs.iter().copied().filter(|a| allow_local || addresses::forbidden(a.ip()).is_none()).collect();
    if allowed.is_empty() {
        let why = addrs.first().and_then(|a| addresses::forbidden(a.ip())).unwrap_or("no address");
        return Err(format!("{host} resolves only to addresses the operator never connects to ({why})"));
    }
    Ok(allowed)
}

/// A DNS resolver that drops forbidden addresses, so a name cannot be pointed at the cluster's inside.
pub(crate) struct GuardedResolver {
    allow_local: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_local = self.allow_local;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let allowed = resolve_allowed(&host, allow_local).await?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

pub(crate) fn guarded_resolver(allow_local: bool) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver { allow_local })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &[&str], insecure: bool) -> DomainPolicy {
        DomainPolicy::new(&allowed.iter().map(|s| s.to_string()).collect::<Vec<_>>(), insecure).unwrap()
    }

    #[test]
    fn accepted_and_refused_domains() {
        let strict = policy(&[], false);
        let custom = policy(&["acme.com"], false);
        let dev = policy(&[], true);
        let cases: &[(&DomainPolicy, &str, Result<&str, &str>)] = &[
            (&strict, "acme.okta.com", Ok("https://acme.okta.com/")),
            (&strict, "acme.oktapreview.com", Ok("https://acme.oktapreview.com/")),
            (&strict, "acme.okta-emea.com", Ok("https://acme.okta-emea.com/")),
            (&strict, "acme.okta-gov.com", Ok("https://acme.okta-gov.com/")),
            (&strict, "acme.okta.mil", Ok("https://acme.okta.mil/")),
            (&strict, "acme.trexcloud.com", Ok("https://acme.trexcloud.com/")),
            (&strict, "ACME.Okta.com", Ok("https://acme.okta.com/")),
            (&strict, "acme.okta.com:8443", Ok("https://acme.okta.com:8443/")),
            (&strict, "login.acme.com", Err("--allow-domain acme.com")),
            (&strict, "login.acme.co.uk", Err("--allow-domain acme.co.uk")),
            (&custom, "login.acme.com", Ok("https://login.acme.com/")),
            (&custom, "evilacme.com", Err("not an Okta domain")),
            (&strict, "okta.com.evil.net", Err("not an Okta domain")),
            (&strict, "evil-okta.com", Err("not an Okta domain")),
            (&strict, "https://acme.okta.com", Err("not a host name")),
            (&strict, "acme.okta.com/admin", Err("not a host name")),
            (&strict, "acme.okta.com?x=1", Err("not a host name")),
            (&strict, "user@acme.okta.com", Err("not a host name")),
            (&strict, "10.0.0.5", Err("is an IP address")),
            (&strict, "169.254.169.254", Err("is an IP address")),
            (&strict, "[fd00::1]", Err("is an IP address")),
            (&strict, "127.0.0.1:8080", Err("loopback")),
            (&strict, "localhost", Err("loopback")),
            (&dev, "127.0.0.1:8080", Ok("http://127.0.0.1:8080/")),
            (&dev, "localhost:9000", Ok("http://localhost:9000/")),
            (&dev, "10.0.0.5", Err("is an IP address")),
        ];
        for (policy, domain, expected) in cases {
            match (policy.check(domain), expected) {
                (Ok(url), Ok(want)) => assert_eq!(url.base.as_str(), *want, "{domain}"),
                (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{domain}: {e}"),
                (got, want) => panic!("{domain}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn public_suffixes_cannot_be_allowed_and_are_never_suggested() {
        for suffix in ["com", ".com", "co.uk", "github.io", "localhost", "com.", ""] {
            assert!(DomainPolicy::new(&[suffix.to_string()], false).is_err(), "{suffix:?} was accepted");
        }
        for suffix in ["acme.com", "acme.co.uk", "login.acme.com"] {
            assert!(DomainPolicy::new(&[suffix.to_string()], false).is_ok(), "{suffix}");
        }
        // a host that is itself under a public suffix only: no suggestion at all
        let e = policy(&[], false).check("foo.github.io").unwrap_err().to_string();
        assert!(e.contains("--allow-domain foo.github.io"), "{e}");
        let e = policy(&[], false).check("com").unwrap_err().to_string();
        assert!(!e.contains("--allow-domain"), "{e}");
    }

    #[test]
    fn origins_keep_the_port() {
        let p = policy(&[], true);
        let a = p.check("127.0.0.1:8001").unwrap();
        let b = p.check("127.0.0.1:8002").unwrap();
        assert_ne!(a.origin(), b.origin());
        assert_eq!(a.origin(), "http://127.0.0.1:8001");
    }
}
