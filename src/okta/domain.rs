//! Turning `spec.domain` into an org URL without becoming an SSRF proxy: the operator holds tokens inside
//! clusters, so it only talks to Okta's own domains (or suffixes an admin allowed), never to IP literals,
//! and never connects to loopback, link-local or private addresses, whatever a name resolves to.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

/// Okta's own domains (orgs, preview orgs, EMEA cell, Okta for Government, Okta's cloud).
pub const OKTA_DOMAINS: [&str; 6] = [
    "okta.com",
    "oktapreview.com",
    "okta-emea.com",
    "okta-gov.com",
    "okta.mil",
    "trexcloud.com",
];

#[derive(Clone, Debug, Default)]
pub struct DomainPolicy {
    /// Extra allowed suffixes, for custom domains (`--allow-domain`).
    pub allowed_suffixes: Vec<String>,
    /// Development and tests only: http and loopback are allowed.
    pub insecure_allow_http: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    #[error("domain {0:?} is not a host name with an optional port (write it like acme.okta.com)")]
    Malformed(String),
    #[error("domain {0:?} is an IP address: use the org's Okta domain name")]
    IpLiteral(String),
    #[error("domain {0:?} is a loopback or local name (allowed only with --insecure-allow-http)")]
    Loopback(String),
    #[error(
        "domain {0:?} is not an Okta domain (okta.com, oktapreview.com, okta-emea.com, okta-gov.com, okta.mil, trexcloud.com); for a custom domain, start the operator with --allow-domain {1}"
    )]
    NotAllowed(String, String),
}

/// A validated org base URL (`https://host[:port]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgUrl {
    pub base: Url,
    pub host: String,
}

fn is_loopback_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

impl DomainPolicy {
    pub fn check(&self, domain: &str) -> Result<OrgUrl, DomainError> {
        let malformed = || DomainError::Malformed(domain.to_string());
        if domain.is_empty() || domain.contains(|c: char| c.is_whitespace() || "/?#@\\".contains(c))
        {
            return Err(malformed());
        }
        let parsed = Url::parse(&format!("https://{domain}")).map_err(|_| malformed())?;
        let host = parsed
            .host_str()
            .ok_or_else(malformed)?
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let loopback_ip = bare.parse::<IpAddr>().ok().map(|ip| ip.is_loopback());
        let local = is_loopback_name(&host) || loopback_ip == Some(true);
        if local {
            if !self.insecure_allow_http {
                return Err(DomainError::Loopback(domain.to_string()));
            }
        } else if loopback_ip.is_some() {
            return Err(DomainError::IpLiteral(domain.to_string()));
        } else {
            let allowed = OKTA_DOMAINS
                .iter()
                .map(|s| s.to_string())
                .chain(
                    self.allowed_suffixes
                        .iter()
                        .map(|s| s.trim_start_matches('.').to_ascii_lowercase()),
                )
                .any(|suffix| host == suffix || host.ends_with(&format!(".{suffix}")));
            if !allowed {
                let suggestion = host
                    .split_once('.')
                    .map_or(host.clone(), |(_, rest)| rest.to_string());
                return Err(DomainError::NotAllowed(domain.to_string(), suggestion));
            }
        }
        let scheme = if local { "http" } else { "https" };
        let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
        let base = Url::parse(&format!(
            "{scheme}://{}{port}",
            parsed.host_str().unwrap_or_default()
        ))
        .map_err(|_| malformed())?;
        Ok(OrgUrl { base, host })
    }
}

/// Whether an address is one the operator must never connect to.
pub fn is_forbidden_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]) // carrier-grade NAT
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            v6.is_loopback() || v6.is_unspecified()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link local
                || v6.to_ipv4_mapped().is_some_and(|v4| is_forbidden_address(IpAddr::V4(v4)))
        }
    }
}

/// A DNS resolver that drops forbidden addresses, so a name cannot be pointed at the cluster's inside.
pub struct GuardedResolver {
    pub allow_local: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_local = self.allow_local;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| allow_local || !is_forbidden_address(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!(
                    "{host} resolves only to loopback, link-local or private addresses"
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

pub fn guarded_resolver(allow_local: bool) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver { allow_local })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &[&str], insecure: bool) -> DomainPolicy {
        DomainPolicy {
            allowed_suffixes: allowed.iter().map(|s| s.to_string()).collect(),
            insecure_allow_http: insecure,
        }
    }

    #[test]
    fn accepted_and_refused_domains() {
        let strict = policy(&[], false);
        let custom = policy(&["acme.com"], false);
        let dev = policy(&[], true);
        let cases: &[(&DomainPolicy, &str, Result<&str, &str>)] = &[
            (&strict, "acme.okta.com", Ok("https://acme.okta.com/")),
            (
                &strict,
                "acme.oktapreview.com",
                Ok("https://acme.oktapreview.com/"),
            ),
            (
                &strict,
                "acme.okta-emea.com",
                Ok("https://acme.okta-emea.com/"),
            ),
            (
                &strict,
                "acme.okta-gov.com",
                Ok("https://acme.okta-gov.com/"),
            ),
            (&strict, "acme.okta.mil", Ok("https://acme.okta.mil/")),
            (
                &strict,
                "acme.trexcloud.com",
                Ok("https://acme.trexcloud.com/"),
            ),
            (&strict, "ACME.Okta.com", Ok("https://acme.okta.com/")),
            (
                &strict,
                "acme.okta.com:8443",
                Ok("https://acme.okta.com:8443/"),
            ),
            (&strict, "login.acme.com", Err("not an Okta domain")),
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
    fn forbidden_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd12::1",
            "::ffff:10.0.0.1",
            "0.0.0.0",
        ] {
            assert!(is_forbidden_address(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["34.120.1.2", "2600:1f18::1"] {
            assert!(!is_forbidden_address(ip.parse().unwrap()), "{ip}");
        }
    }
}
