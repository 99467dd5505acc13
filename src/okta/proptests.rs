//! Property tests for every parser of the client that takes outside input: Link headers, rate-limit
//! headers, domains and Secret values. They never panic, and what they accept round-trips.

use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue};

use super::domain::DomainPolicy;
use super::governor::{Bucket, OrgGovernor};
use super::links::split_links;
use super::token::ApiToken;

/// A URL-ish target without the characters that delimit Link values.
fn target() -> impl Strategy<Value = String> {
    "https://[a-z]{1,12}\\.okta\\.com/api/v1/[a-z]{1,8}\\?after=[A-Za-z0-9_-]{0,20}&limit=[0-9]{1,4}"
}

proptest! {
    #[test]
    fn link_headers_never_panic(value in ".{0,300}") {
        let _ = split_links(&value);
    }

    #[test]
    fn link_headers_round_trip(links in prop::collection::vec((target(), "(next|self|prev)"), 0..4)) {
        let value = links.iter().map(|(u, r)| format!("<{u}>; rel=\"{r}\"")).collect::<Vec<_>>().join(", ");
        prop_assert_eq!(split_links(&value), links);
    }

    #[test]
    fn rate_limit_headers_never_panic(limit in ".{0,25}", remaining in ".{0,25}", reset in ".{0,25}", retry in ".{0,25}") {
        let governor = OrgGovernor::new(4);
        let mut headers = HeaderMap::new();
        for (name, v) in [("x-rate-limit-limit", &limit), ("x-rate-limit-remaining", &remaining), ("x-rate-limit-reset", &reset), ("retry-after", &retry)] {
            if let Ok(value) = HeaderValue::from_str(v) {
                headers.insert(name, value);
            }
        }
        governor.observe(Bucket::Logs, &headers);
        let wait = governor.rejected(Bucket::Logs, &headers);
        prop_assert!(wait >= std::time::Duration::from_millis(50), "a 429 always waits: {wait:?}");
        let _ = governor.budgets();
    }

    #[test]
    fn numeric_rate_limit_headers_are_learnt_as_sent(limit in 1u64..100_000, used in 0u64..100_000) {
        let governor = OrgGovernor::new(4);
        let remaining = used.min(limit);
        let reset = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() + 30).unwrap_or(0);
        let mut headers = HeaderMap::new();
        headers.insert("x-rate-limit-limit", HeaderValue::from(limit));
        headers.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
        headers.insert("x-rate-limit-reset", HeaderValue::from(reset));
        governor.observe(Bucket::Users, &headers);
        prop_assert_eq!(governor.budgets(), vec![(Bucket::Users, limit, remaining)]);
    }

    #[test]
    fn domains_never_panic(domain in ".{0,80}", insecure in any::<bool>()) {
        let policy = DomainPolicy::new(&["acme.com".to_string()], insecure).expect("policy");
        let _ = policy.check(&domain);
    }

    #[test]
    fn okta_domains_round_trip(sub in "[a-z][a-z0-9-]{0,20}[a-z0-9]", suffix in "(okta|oktapreview|okta-emea)\\.com", port in prop::option::of(1u16..)) {
        // A label starting xn-- is punycode (an IDNA A-label): random letters after it are rightly refused.
        prop_assume!(!sub.starts_with("xn--"));
        let policy = DomainPolicy::new(&[], false).expect("policy");
        let domain = match port {
            Some(p) => format!("{sub}.{suffix}:{p}"),
            None => format!("{sub}.{suffix}"),
        };
        let org = policy.check(&domain.to_uppercase()).expect("an Okta domain is accepted");
        prop_assert_eq!(org.host, format!("{sub}.{suffix}"));
        prop_assert_eq!(org.base.scheme(), "https");
        prop_assert_eq!(org.base.port(), port.filter(|&p| p != 443));
    }

    #[test]
    fn secret_values_never_panic(raw in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(token) = ApiToken::parse(&raw) {
            // whatever is accepted is one printable word
            let header = token.header().to_str().expect("ASCII header");
            prop_assert!(header.starts_with("SSWS ") && !header[5..].contains(char::is_whitespace));
        }
    }

    #[test]
    fn a_stored_token_reads_back_the_same(token in "[A-Za-z0-9_-]{20,60}", newline in "(\n|\r\n|)") {
        let stored = format!("{token}{newline}");
        let parsed = ApiToken::parse(stored.as_bytes()).expect("a token with a trailing newline");
        prop_assert_eq!(parsed.fingerprint(), ApiToken::parse(token.as_bytes()).expect("token").fingerprint());
        let header = format!("SSWS {token}");
        prop_assert_eq!(parsed.header().to_str().ok(), Some(header.as_str()));
    }
}
