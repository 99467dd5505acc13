//! Calendar months and ISO weeks (UTC) as numbered periods: months since January 1970, weeks since the
//! Monday 1969-12-29 (ISO weeks start on Monday; 1970-01-01 was a Thursday).

use chrono::{Datelike, NaiveDate};

const DAY_MS: i64 = 86_400_000;
/// Days from the Monday that starts week 0 to 1970-01-01.
const WEEK_ZERO_OFFSET: i64 = 3;
/// Open periods of one span are told apart by their index modulo this many bits of a user's flags: one
/// sync's System Log read reaches back at most 90 days (Okta keeps no more), at most 5 calendar months
/// and 15 ISO weeks, so a slot is never shared by two open periods.
const MONTH_SLOTS: i32 = 6;
const WEEK_SLOTS: i32 = 16;

/// A calendar month or an ISO week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Span {
    Month,
    Week,
}

impl Span {
    pub(crate) const ALL: [Span; 2] = [Span::Month, Span::Week];
}

/// One month or week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Period {
    pub(crate) span: Span,
    pub(crate) index: i32,
}

fn date_of_day(day: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(day + 719_163).ok()?)
}

fn day_of(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - 719_163
}

impl Period {
    /// The period of `span` holding the instant `ms`.
    pub(crate) fn containing(span: Span, ms: i64) -> Period {
        let day = ms.div_euclid(DAY_MS);
        let index = match span {
            Span::Week => (day + WEEK_ZERO_OFFSET).div_euclid(7),
            Span::Month => date_of_day(day).map_or(0, |d| (i64::from(d.year()) - 1970) * 12 + i64::from(d.month0())),
        };
        Period { span, index: i32::try_from(index).unwrap_or(if index < 0 { i32::MIN } else { i32::MAX }) }
    }

    fn first_day(self) -> i64 {
        let index = i64::from(self.index);
        match self.span {
            Span::Week => index * 7 - WEEK_ZERO_OFFSET,
            Span::Month => i32::try_from(1970 + index.div_euclid(12))
                .ok()
                .and_then(|year| NaiveDate::from_ymd_opt(year, index.rem_euclid(12) as u32 + 1, 1))
                .map_or(0, day_of),
        }
    }

    pub(crate) fn start_ms(self) -> i64 {
        self.first_day().saturating_mul(DAY_MS)
    }

    /// The first instant after the period.
    pub(crate) fn end_ms(self) -> i64 {
        self.next().start_ms()
    }

    pub(crate) fn next(self) -> Period {
        Period { span: self.span, index: self.index.saturating_add(1) }
    }

    /// This period's bit in a user's flags: six month slots, then sixteen week slots.
    pub(crate) fn bit(self) -> u32 {
        match self.span {
            Span::Month => 1 << self.index.rem_euclid(MONTH_SLOTS),
            Span::Week => 1 << (MONTH_SLOTS + self.index.rem_euclid(WEEK_SLOTS)),
        }
    }

    /// `2026-11` or `2026-W48` (the ISO week-numbering year).
    pub(crate) fn label(self) -> String {
        let Some(first) = date_of_day(self.first_day()) else {
            return String::new();
        };
        match self.span {
            Span::Month => format!("{:04}-{:02}", first.year(), first.month()),
            Span::Week => {
                let week = first.iso_week();
                format!("{:04}-W{:02}", week.year(), week.week())
            }
        }
    }

    /// A label read back (from the cluster): the period it names, only in its canonical spelling.
    pub(crate) fn parse(span: Span, label: &str) -> Option<Period> {
        let (year, rest) = label.split_once('-')?;
        let year: i32 = year.parse().ok().filter(|y| (1970..=9999).contains(y))?;
        let first = match span {
            Span::Month => NaiveDate::from_ymd_opt(year, rest.parse().ok()?, 1)?,
            Span::Week => {
                NaiveDate::from_isoywd_opt(year, rest.strip_prefix('W')?.parse().ok()?, chrono::Weekday::Mon)?
            }
        };
        let period = Period::containing(span, day_of(first) * DAY_MS);
        (period.label() == label).then_some(period)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text).map(|t| t.timestamp_millis()).unwrap_or(i64::MIN)
    }

    #[test]
    fn months_and_iso_weeks_have_their_calendar_bounds_and_labels() {
        let nov = Period::containing(Span::Month, ms("2026-11-30T23:59:59.999Z"));
        assert_eq!(
            (nov.label(), nov.start_ms(), nov.end_ms()),
            ("2026-11".into(), ms("2026-11-01T00:00:00Z"), ms("2026-12-01T00:00:00Z"))
        );
        let w = Period::containing(Span::Week, ms("2026-11-26T12:00:00Z"));
        assert_eq!((w.label(), w.start_ms()), ("2026-W48".into(), ms("2026-11-23T00:00:00Z")));
        // 2027-01-01 is a Friday: it belongs to the last ISO week of 2026.
        let new_year = Period::containing(Span::Week, ms("2027-01-01T00:00:00Z"));
        assert_eq!(new_year.label(), "2026-W53");
        assert_eq!(Period::containing(Span::Week, ms("1970-01-01T00:00:00Z")).index, 0);
        assert_eq!(Period::containing(Span::Month, ms("1970-01-01T00:00:00Z")).index, 0);
    }

    #[test]
    fn labels_parse_back_only_in_their_canonical_spelling() {
        for span in Span::ALL {
            for t in ["2025-12-31T23:00:00Z", "2026-01-04T00:00:00Z", "2026-06-15T00:00:00Z", "2027-01-01T00:00:00Z"] {
                let p = Period::containing(span, ms(t));
                assert_eq!(Period::parse(span, &p.label()), Some(p));
            }
        }
        for bad in ["2026-13", "2026-1", "2026-W54", "1969-12", "2026-W7", "x", "2026-11-01", "+2026-11"] {
            assert_eq!(Period::parse(Span::Month, bad).or(Period::parse(Span::Week, bad)), None, "{bad}");
        }
    }

    #[test]
    fn ninety_days_never_put_two_periods_in_one_slot() {
        let start = ms("2026-01-31T00:00:00Z");
        for offset_days in 0..400 {
            let from = start + offset_days * DAY_MS;
            for span in Span::ALL {
                let (a, b) = (Period::containing(span, from), Period::containing(span, from + 91 * DAY_MS));
                let bits: Vec<u32> = (a.index..=b.index).map(|index| Period { span, index }.bit()).collect();
                let distinct: std::collections::HashSet<u32> = bits.iter().copied().collect();
                assert_eq!(distinct.len(), bits.len());
            }
        }
    }
}
