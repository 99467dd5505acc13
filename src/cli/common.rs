//! Flags shared by `run` and `sync`, declared once and flattened into both, and the client settings
//! built from them.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::crd::duration_arg;
use crate::okta::{ClientOptions, DomainPolicy, ProxySettings, TransportOptions};

/// How to reach Okta.
#[derive(Args, Debug, Clone)]
pub(crate) struct OktaArgs {
    /// Also allow this domain (for an org on a custom domain such as login.acme.com: --allow-domain
    /// acme.com); repeatable. A public suffix such as com is refused.
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    pub(crate) allow_domains: Vec<String>,
    /// Development and tests only: allow http and loopback Okta domains.
    #[arg(long)]
    pub(crate) insecure_allow_http: bool,
    /// Deadline of one request to Okta (Go duration).
    #[arg(long, default_value = "30s", value_parser = duration_arg, value_name = "DURATION")]
    pub(crate) request_timeout: Duration,
    /// Give up on one sync after this long (Go duration).
    #[arg(long, visible_alias = "timeout", default_value = "6h", value_parser = duration_arg, value_name = "DURATION")]
    pub(crate) sync_timeout: Duration,
    /// PEM file of CA certificates to trust besides the public roots (a TLS-inspecting proxy's CA).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_file: Option<PathBuf>,
    /// Tests only (needs --insecure-allow-http): read the time from FILE (RFC 3339) at each use, so a
    /// test moves months of simulated time with okta-sim's movable clock.
    #[arg(long, value_name = "FILE", hide = true)]
    pub(crate) test_clock_file: Option<PathBuf>,
}

impl OktaArgs {
    /// The engine's clock: the system's, or a test's file (refused outside tests).
    pub(crate) fn clock(&self) -> Result<crate::discovery::Clock, String> {
        match &self.test_clock_file {
            None => Ok(crate::discovery::Clock::System),
            Some(_) if !self.insecure_allow_http => {
                Err("--test-clock-file is for tests only and needs --insecure-allow-http".into())
            }
            Some(path) => Ok(crate::discovery::Clock::File(path.clone())),
        }
    }

    pub(crate) fn domain_policy(&self) -> Result<DomainPolicy, String> {
        DomainPolicy::new(&self.allow_domains, self.insecure_allow_http).map_err(|e| e.to_string())
    }

    /// Client settings: request deadline, the proxy from HTTPS_PROXY/NO_PROXY, the CA bundle.
    pub(crate) fn client_options(&self) -> Result<ClientOptions, String> {
        let ca_pem = self.ca_file.as_deref().map(TransportOptions::read_ca_file).transpose()?;
        Ok(ClientOptions {
            request_timeout: self.request_timeout,
            transport: TransportOptions {
                allow_local: self.insecure_allow_http,
                proxy: ProxySettings::from_env()?,
                ca_pem,
            },
            ..ClientOptions::default()
        })
    }
}
