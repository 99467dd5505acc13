//! Reading the history back, as untrusted as the rest: periods in order and in range (closed ones no later
//! than the newest closed, open ones after it and within what Okta's log still holds, so no two share a
//! bit), at most the retention's maximum of each, and each pair's flags (in the usage part) only those of
//! its app's open periods.

use std::collections::BTreeMap;
use std::io::BufRead;

use super::{Reader, Res};
use crate::discovery::checkpoint::CheckpointError;
use crate::discovery::history::by_value::{self, AttributeCounts, ValueCounts};
use crate::discovery::history::{
    AppHistory, History, LOG_RETENTION_MS, MAX_MONTHS, MAX_WEEKS, Open, Period, Series, Span, Tally,
};
use crate::discovery::inventory::valid_app_id;
use crate::discovery::usage::UsageLedger;

const DAY_MS: i64 = 86_400_000;

fn span_of(code: u8) -> Res<Span> {
    match code {
        0 => Ok(Span::Month),
        1 => Ok(Span::Week),
        _ => Err(CheckpointError::Corrupt("an unknown period kind")),
    }
}

fn invalid(what: &'static str) -> CheckpointError {
    CheckpointError::Invalid(what)
}

/// What the periods read must respect.
struct Bounds {
    closed_through: BTreeMap<Span, i32>,
    now_ms: i64,
}

impl Bounds {
    fn closed(&self, period: Period) -> Res<Period> {
        let max = match period.span {
            Span::Month => MAX_MONTHS,
            Span::Week => MAX_WEEKS,
        };
        let newest = self.closed_through.get(&period.span).copied().ok_or(invalid("a closed period never closed"))?;
        let in_range = period.index <= newest && i64::from(period.index) > i64::from(newest) - i64::from(max) - 1;
        in_range.then_some(period).ok_or(invalid("a closed period out of range"))
    }

    fn open(&self, period: Period) -> Res<Period> {
        let oldest = Period::containing(period.span, self.now_ms - LOG_RETENTION_MS - DAY_MS).index;
        let newest = Period::containing(period.span, self.now_ms + super::CLOCK_SKEW_MS).index;
        let after_closed = self.closed_through.get(&period.span).is_none_or(|&c| period.index > c);
        (after_closed && (oldest..=newest).contains(&period.index))
            .then_some(period)
            .ok_or(invalid("an open period out of range"))
    }
}

fn read_period<S: BufRead>(r: &mut Reader<'_, S>) -> Res<Period> {
    let span = span_of(r.byte()?)?;
    let index = i32::try_from(r.i64()?).map_err(|_| invalid("a period out of range"))?;
    Ok(Period { span, index })
}

fn read_count_u64<S: BufRead>(r: &mut Reader<'_, S>) -> Res<Option<u64>> {
    match r.opt_i64()? {
        Some(v) => u64::try_from(v).map(Some).map_err(|_| invalid("a negative count")),
        None => Ok(None),
    }
}

fn read_series<S: BufRead>(r: &mut Reader<'_, S>, bounds: &Bounds) -> Res<Series> {
    let mut series = Series::default();
    for _ in 0..r.count()? {
        let period = bounds.closed(read_period(r)?)?;
        if series.closed.last().is_some_and(|t| t.period >= period) {
            return Err(CheckpointError::Corrupt("closed periods out of order"));
        }
        let (active_users, sign_ins, seats) = (r.u64()?, r.u64()?, read_count_u64(r)?);
        let partial = match r.byte()? {
            0 => false,
            1 => true,
            _ => return Err(CheckpointError::Corrupt("an unknown marker")),
        };
        series.closed.push(Tally { period, active_users, sign_ins, seats, partial });
    }
    for _ in 0..r.count()? {
        let period = bounds.open(read_period(r)?)?;
        if series.open.last_key_value().is_some_and(|(p, _)| *p >= period) {
            return Err(CheckpointError::Corrupt("open periods out of order"));
        }
        series.open.insert(period, Open { sign_ins: r.u64()?, seats: read_count_u64(r)? });
    }
    Ok(series)
}

fn read_app<S: BufRead>(r: &mut Reader<'_, S>, bounds: &Bounds) -> Res<AppHistory> {
    let marks = r.byte()?;
    if marks > 3 {
        return Err(CheckpointError::Corrupt("an unknown marker"));
    }
    let series = read_series(r, bounds)?;
    Ok(AppHistory { series, kept: marks & 1 != 0, listed: marks & 2 != 0 })
}

/// Every pair's flags name only open periods of its app's history (a stray bit would count a user in a
/// period that opens later in the same slot).
pub(super) fn check_flags(history: &History, usage: &UsageLedger) -> Res<()> {
    for (id, app) in &usage.apps {
        let allowed = history.apps.get(&**id).map_or(0, |h| h.series.open.keys().fold(0, |bits, p| bits | p.bit()));
        if app.last_seen.entries().any(|(_, _, flags)| flags & !allowed != 0) {
            return Err(invalid("a user active in a period the app has not open"));
        }
    }
    Ok(())
}

pub(super) fn read_history<S: BufRead>(r: &mut Reader<'_, S>) -> Res<History> {
    let mut history = History::default();
    history.coverage_ms = r.opt_time()?;
    history.synced_ms = r.opt_time()?;
    let now_ms = r.expect.now_ms;
    for span in Span::ALL {
        if let Some(index) = r.opt_i64()? {
            let index = i32::try_from(index).map_err(|_| invalid("a period out of range"))?;
            if index < 0 || index > Period::containing(span, now_ms).index {
                return Err(invalid("a closed period in the future"));
            }
            history.closed_through.insert(span, index);
        }
    }
    let bounds = Bounds { closed_through: history.closed_through.clone(), now_ms };
    history.org = read_series(r, &bounds)?;
    for _ in 0..r.count()? {
        let id = r.str()?;
        if !valid_app_id(&id) {
            return Err(invalid("an app id that is not an Okta id"));
        }
        if history.apps.last_key_value().is_some_and(|(last, _)| *last >= id) {
            return Err(CheckpointError::Corrupt("apps out of order"));
        }
        let app = read_app(r, &bounds)?;
        history.apps.insert(id, app);
    }
    Ok(history)
}

/// One closed month's counts per value; they must be what the writer makes for that month's active users.
fn read_counts<S: BufRead>(r: &mut Reader<'_, S>, active_users: u64) -> Res<ValueCounts> {
    let mut counts = ValueCounts::new();
    for _ in 0..r.count()? {
        let attribute = r.str()?.into_boxed_str();
        let mut values = Vec::new();
        for _ in 0..r.count()? {
            values.push((r.str()?.into_boxed_str(), r.u64()?));
        }
        counts.push(AttributeCounts { attribute, values });
    }
    by_value::consistent(&counts, active_users)
        .then_some(counts)
        .ok_or(invalid("breakdown counts that do not add up to their month's active users"))
}

/// One series' closed months' counts, each for a closed month of that series, in order.
fn read_series_counts<S: BufRead>(r: &mut Reader<'_, S>, series: &mut Series) -> Res<()> {
    for _ in 0..r.count()? {
        let index = i32::try_from(r.i64()?).map_err(|_| invalid("a period out of range"))?;
        if series.by_value.last_key_value().is_some_and(|(&last, _)| last >= index) {
            return Err(CheckpointError::Corrupt("months out of order"));
        }
        let month = Period { span: Span::Month, index };
        let tally = series.closed.iter().find(|t| t.period == month).ok_or(invalid("counts of a month not closed"))?;
        let counts = read_counts(r, tally.active_users)?;
        series.by_value.insert(index, counts);
    }
    Ok(())
}

/// The closed months' counts per breakdown value, in the order [`read_history`] read the series.
pub(super) fn read_by_value<S: BufRead>(r: &mut Reader<'_, S>, history: &mut History) -> Res<()> {
    read_series_counts(r, &mut history.org)?;
    for app in history.apps.values_mut() {
        read_series_counts(r, &mut app.series)?;
    }
    Ok(())
}
