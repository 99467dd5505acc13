//! RFC 8288 Link headers as Okta sends them: one header line per relation, followed exactly as given.

use reqwest::header::{HeaderMap, LINK};

/// The target of the `rel="next"` link among all Link header lines (and comma-joined values).
pub(crate) fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(split_links)
        .find(|(_, rels)| rels.split_whitespace().any(|r| r.eq_ignore_ascii_case("next")))
        .map(|(url, _)| url)
}

/// Splits one header value into (target, rel) pairs; commas inside <...> are part of the URL.
pub(crate) fn split_links(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let url = rest[start + 1..start + end].to_string();
        rest = &rest[start + end + 1..];
        let params_end = rest.find('<').map(|i| rest[..i].rfind(',').unwrap_or(i)).unwrap_or(rest.len());
        let params = &rest[..params_end];
        let rel = params
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("rel="))
            .map(|r| r.trim_matches('"').to_string())
            .next()
            .unwrap_or_default();
        out.push((url, rel));
        rest = &rest[params_end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn follows_next_among_several_link_lines() {
        let mut h = HeaderMap::new();
        h.append(LINK, HeaderValue::from_static("<https://acme.okta.com/api/v1/users?limit=200>; rel=\"self\""));
        h.append(
            LINK,
            HeaderValue::from_static("<https://acme.okta.com/api/v1/users?after=00u1&limit=200>; rel=\"next\""),
        );
        assert_eq!(next_link(&h).as_deref(), Some("https://acme.okta.com/api/v1/users?after=00u1&limit=200"));
    }

    #[test]
    fn comma_joined_and_absent() {
        let mut h = HeaderMap::new();
        h.append(LINK, HeaderValue::from_static("<https://a/x?a=1,2>; rel=\"next\", <https://a/x>; rel=\"self\""));
        assert_eq!(next_link(&h).as_deref(), Some("https://a/x?a=1,2"));
        let mut only_self = HeaderMap::new();
        only_self.append(LINK, HeaderValue::from_static("<https://a/x>; rel=\"self\""));
        assert_eq!(next_link(&only_self), None);
    }
}
