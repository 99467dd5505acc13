//! Pages of records read leniently: a page must be a JSON array, but one record in it that is not usable
//! (a null where a string belongs, an event without `published`) is skipped and counted instead of
//! failing the sync. A listing where more than 1% of the records are unusable (and more than one) fails
//! naming its endpoint: then Okta's answers have changed, and counting on would mislead.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::okta::OktaError;
use crate::text;

/// A record type read from a page: deserialized leniently, then checked.
pub(crate) trait Record: DeserializeOwned {
    type Checked;
    /// The usable record, or why it is not usable.
    fn check(self) -> Result<Self::Checked, &'static str>;
}

/// One listing's count of records read and skipped.
#[derive(Debug, Default, Clone)]
pub(crate) struct Skips {
    pub(crate) total: u64,
    pub(crate) skipped: u64,
    example: Option<String>,
}

impl Skips {
    fn skip(&mut self, why: &str) {
        self.skipped += 1;
        if self.example.is_none() {
            self.example = Some(text::field(why));
        }
    }

    /// Fails when more than 1% (and more than one) of the listing's records were unusable.
    pub(crate) fn check(&self, endpoint: &str) -> Result<(), OktaError> {
        if self.skipped > 1 && self.skipped.saturating_mul(100) > self.total {
            return Err(OktaError::TooManySkipped {
                endpoint: endpoint.to_string(),
                skipped: self.skipped,
                total: self.total,
                example: self.example.clone().unwrap_or_default(),
            });
        }
        Ok(())
    }

    pub(crate) fn add(&mut self, other: &Skips) {
        self.total += other.total;
        self.skipped += other.skipped;
        if self.example.is_none() {
            self.example.clone_from(&other.example);
        }
    }
}

/// The usable records of one page.
pub(crate) fn parse_page<R: Record>(
    body: &[u8],
    endpoint: &str,
    skips: &mut Skips,
) -> Result<Vec<R::Checked>, OktaError> {
    let raws: Vec<&RawValue> = serde_json::from_slice(body)
        .map_err(|e| OktaError::Malformed { endpoint: endpoint.to_string(), message: text::field(&e.to_string()) })?;
    let mut out = Vec::with_capacity(raws.len());
    for raw in raws {
        skips.total += 1;
        match serde_json::from_str::<R>(raw.get()) {
            Ok(record) => match record.check() {
                Ok(checked) => out.push(checked),
                Err(why) => skips.skip(why),
            },
            Err(e) => skips.skip(&e.to_string()),
        }
    }
    Ok(out)
}

/// A string field that may be absent or null.
pub(crate) fn required<'a>(field: &'a Option<String>, why: &'static str) -> Result<&'a str, &'static str> {
    field.as_deref().filter(|s| !s.trim().is_empty()).ok_or(why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Thing {
        id: Option<String>,
    }

    impl Record for Thing {
        type Checked = String;
        fn check(self) -> Result<String, &'static str> {
            required(&self.id, "a record without an id").map(str::to_string)
        }
    }

    #[test]
    fn unusable_records_are_skipped_and_counted_until_one_percent() {
        let mut skips = Skips::default();
        let page = br#"[{"id":"a"},{"id":null},{"id":"b","extra":[1,2]},{"id":7},"x"]"#;
        let got = parse_page::<Thing>(page, "GET /x", &mut skips).unwrap();
        assert_eq!(got, vec!["a", "b"]);
        assert_eq!((skips.total, skips.skipped), (5, 3));
        assert!(skips.check("GET /x").unwrap_err().to_string().contains("3 of 5"));
        let mut one = Skips::default();
        parse_page::<Thing>(br#"[{"id":null},{"id":"a"}]"#, "GET /x", &mut one).unwrap();
        assert!(one.check("GET /x").is_ok(), "one bad record never fails a listing");
        assert!(parse_page::<Thing>(b"{\"not\":\"an array\"}", "GET /x", &mut one).is_err());
    }
}
