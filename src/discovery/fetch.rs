//! Listings: every page of one Okta list endpoint, read leniently, guarded against paging loops, with the
//! 1% rule for unusable records checked at the end.

use url::Url;

use super::failure::{CredentialKind, SyncError};
use super::need::Need;
use super::records::{Record, Skips, parse_page};
use crate::okta::{OktaClient, Pager};

/// Largest pages Okta serves: apps 200, users 200, app users 500, app groups 200 (Okta API reference).
pub(crate) const APPS_PAGE: u32 = 200;
pub(crate) const USERS_PAGE: u32 = 200;
pub(crate) const APP_USERS_PAGE: u32 = 500;
pub(crate) const APP_GROUPS_PAGE: u32 = 200;
/// A group's members per page (listGroupUsers: the spec recommends 200 of its 1000 maximum).
pub(crate) const GROUP_USERS_PAGE: u32 = 200;
/// A change event this close before a listing started may not be in it: re-list (clock skew, paging).
pub(crate) const LISTING_MARGIN_MS: i64 = 60_000;
/// Page ceilings: far above any real org (10 million users, 2 million apps), far below a loop's appetite.
pub(crate) const MAX_PAGES: u64 = 100_000;

/// Who is asking, for classifying failures.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub(crate) client: &'a OktaClient,
    pub(crate) kind: CredentialKind,
}

impl Reader<'_> {
    pub(crate) fn fail(&self, need: Need, error: crate::okta::OktaError) -> SyncError {
        SyncError::classify(self.kind, need, error)
    }

    /// Reads every page of a listing, handing each page's usable records to `each`; returns the skips.
    pub(crate) async fn list<R: Record>(
        &self,
        need: Need,
        first: Url,
        mut each: impl FnMut(Vec<R::Checked>),
    ) -> Result<Skips, SyncError> {
        let endpoint = format!("GET {}", first.path());
        let mut pager = Pager::new(&first, MAX_PAGES);
        let mut skips = Skips::default();
        let mut next = Some(first);
        while let Some(url) = next {
            let page = self.client.get_page(&url).await.map_err(|e| self.fail(need, e))?;
            each(parse_page::<R>(&page.body, &endpoint, &mut skips).map_err(|e| self.fail(need, e))?);
            next = page.next;
            if let Some(n) = &next {
                pager.advance(n).map_err(|e| self.fail(need, e))?;
            }
        }
        skips.check(&endpoint).map_err(|e| self.fail(need, e))?;
        Ok(skips)
    }

    /// Every usable record of a listing.
    pub(crate) async fn collect<R: Record>(
        &self,
        need: Need,
        first: Url,
    ) -> Result<(Vec<R::Checked>, Skips), SyncError> {
        let mut all = Vec::new();
        let skips = self.list::<R>(need, first, |page| all.extend(page)).await?;
        Ok((all, skips))
    }
}
