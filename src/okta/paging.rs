//! Paging guards: a listing that repeats a next link, or has more pages than it can have, fails naming
//! the endpoint instead of looping (and counting the same records again) until memory runs out.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use url::Url;

use super::error::OktaError;

/// One listing's pages: every next link must be new, and the page count stays under a ceiling.
pub(crate) struct Pager {
    endpoint: String,
    seen: HashSet<u64>,
    pages: u64,
    max_pages: u64,
}

fn link_hash(url: &Url) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    url.as_str().hash(&mut h);
    h.finish()
}

impl Pager {
    /// A listing starting at `first` that may have at most `max_pages` pages.
    pub(crate) fn new(first: &Url, max_pages: u64) -> Pager {
        let mut seen = HashSet::new();
        seen.insert(link_hash(first));
        Pager { endpoint: format!("GET {}", first.path()), seen, pages: 1, max_pages: max_pages.max(1) }
    }

    /// Accepts the next link of the page just read; an error when it was seen before in this listing
    /// or the listing has passed its ceiling.
    pub(crate) fn advance(&mut self, next: &Url) -> Result<(), OktaError> {
        self.pages += 1;
        if self.pages > self.max_pages {
            return Err(OktaError::PagingLoop {
                endpoint: self.endpoint.clone(),
                detail: format!("more than {} pages", self.max_pages),
            });
        }
        if !self.seen.insert(link_hash(next)) {
            return Err(OktaError::PagingLoop {
                endpoint: self.endpoint.clone(),
                detail: "a next link repeats an earlier page".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_link_or_too_many_pages_fails() {
        let u = |s: &str| Url::parse(&format!("https://acme.okta.com/api/v1/users?after={s}")).unwrap();
        let mut pager = Pager::new(&u("0"), 4);
        assert!(pager.advance(&u("1")).is_ok());
        assert!(pager.advance(&u("2")).is_ok());
        let e = pager.advance(&u("1")).unwrap_err();
        assert!(e.to_string().contains("repeats"), "{e}");
        let mut short = Pager::new(&u("0"), 2);
        assert!(short.advance(&u("1")).is_ok());
        let e = short.advance(&u("2")).unwrap_err();
        assert!(e.to_string().contains("more than 2 pages") && e.to_string().contains("GET /api/v1/users"), "{e}");
        // the first link itself counts as seen
        let mut again = Pager::new(&u("0"), 10);
        assert!(again.advance(&u("0")).is_err());
    }
}
