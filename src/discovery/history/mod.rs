//! Usage history beyond the System Log's 90 days: per app and for the org, distinct users with a counted
//! sign-in and the sign-ins of each calendar month and ISO week (UTC), and the seats held when it ended.
//!
//! Distinct counts are exact. Every (app, user) pair active in a period not yet closed carries flags, one
//! bit per open period, in the spare bits of the usage ledger's pair (`compact::LastSeen`: no memory of its
//! own); a period's active users are the pairs with its bit. When a period closes its numbers become a
//! [`Tally`] (a few dozen bytes, kept for the retention) and its bit is cleared, so the ledger keeps only
//! pairs of the usage window or of the periods still open.
//!
//! A period closes at the first sync's end after [`CLOSE_LAG_MS`] has passed since it ended: the log is
//! late (events show up seconds after `published`, okta/okta-cli#22), and an hour is two orders of
//! magnitude above what Okta or okta-sim show, while still closing a month within the hour of a sync.
//! A sign-in read after its period closed is not counted in the history (it still counts in the window).

pub(crate) mod by_value;
mod period;
mod restore;
pub(crate) mod view;

use std::collections::BTreeMap;

pub(crate) use period::{Period, Span};
pub(crate) use restore::ClosedRow;
pub(crate) use view::HistoryView;

use super::attributes::ProfileAttributes;
use super::usage::UsageLedger;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// How long after a period ends it closes (see the module's comment).
pub(crate) const CLOSE_LAG_MS: i64 = HOUR_MS;
/// Seats are sampled for a period by a sync at most this long after it ended; a later first sample would
/// describe another time, so the period's seats stay unknown.
pub(crate) const SEATS_SLACK_MS: i64 = DAY_MS;
/// The System Log keeps 90 days (developer.okta.com/docs/reference/system-log-query).
pub(crate) const LOG_RETENTION_MS: i64 = 90 * DAY_MS;
/// Sign-ins published this far after the sync started still count (clocks differ a little).
const CLOCK_SKEW_MS: i64 = 5 * 60_000;
/// Most months and weeks kept (spec.history: at most 25 and 104).
pub(crate) const MAX_MONTHS: u32 = 25;
pub(crate) const MAX_WEEKS: u32 = 104;

/// How many months and weeks to keep, the current ones included (spec.history).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Retention {
    pub(crate) months: u32,
    pub(crate) weeks: u32,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention { months: 13, weeks: 26 }
    }
}

impl Retention {
    pub(crate) fn keep(self, span: Span) -> u32 {
        match span {
            Span::Month => self.months.min(MAX_MONTHS),
            Span::Week => self.weeks.min(MAX_WEEKS),
        }
    }

    /// With nothing to keep, the first sync reads only the usage window.
    pub(crate) fn enabled(self) -> bool {
        self.months > 0 || self.weeks > 0
    }

    /// The oldest period index kept when `now_ms` falls in `span`'s period.
    fn oldest_kept(self, span: Span, now_ms: i64) -> i64 {
        i64::from(Period::containing(span, now_ms).index) - i64::from(self.keep(span)) + 1
    }
}

/// A closed period's numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) period: Period,
    pub(crate) active_users: u64,
    pub(crate) sign_ins: u64,
    /// Seat holders when the period ended; None when no sync sampled them in time.
    pub(crate) seats: Option<u64>,
    /// The period began before the earliest System Log event read (it is missing what came before).
    pub(crate) partial: bool,
}

/// What an open period holds besides its users' flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Open {
    pub(crate) sign_ins: u64,
    pub(crate) seats: Option<u64>,
}

/// An app's or the org's closed periods (sorted by period) and open periods.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Series {
    pub(crate) closed: Vec<Tally>,
    pub(crate) open: BTreeMap<Period, Open>,
    /// Closed months' active users per breakdown value, by month index (months closed while
    /// spec.breakdown named attributes).
    pub(crate) by_value: BTreeMap<i32, by_value::ValueCounts>,
}

impl Series {
    fn push(&mut self, tally: Tally) {
        let at = self.closed.partition_point(|t| t.period < tally.period);
        match self.closed.get_mut(at) {
            Some(t) if t.period == tally.period => *t = tally,
            _ => self.closed.insert(at, tally),
        }
    }

    fn prune(&mut self, retention: Retention, now_ms: i64) {
        self.closed.retain(|t| i64::from(t.period.index) >= retention.oldest_kept(t.period.span, now_ms));
        let oldest_month = retention.oldest_kept(Span::Month, now_ms);
        self.by_value.retain(|&month, _| i64::from(month) >= oldest_month);
    }

    /// Records a closed month's counts per value of `attributes` among `users` (its active users).
    fn count_values(&mut self, period: Period, attributes: Option<&ProfileAttributes>, users: &[u32]) {
        if let (Span::Month, Some(attributes)) = (period.span, attributes) {
            self.by_value.insert(period.index, by_value::count(attributes, users));
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.closed.is_empty() && self.open.is_empty()
    }
}

/// One app's history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AppHistory {
    pub(crate) series: Series,
    /// In the inventory at the end of some sync: an app seen only in sign-ins (Okta's own apps, service
    /// clients, ids never listed) is dropped, while an app deleted in Okta keeps its history.
    pub(crate) kept: bool,
    /// In the inventory at the last sync's end: it gets a tally for every period, used or not.
    pub(crate) listed: bool,
}

/// What the history knows of an inventory app at a sync's end.
pub(crate) struct InventoryApp<'a> {
    pub(crate) id: &'a str,
    /// Seat holders, when its users are listed.
    pub(crate) seats: Option<u64>,
}

/// What the history reads and marks beside itself: the usage ledger holding its pairs' flags, and the
/// users' breakdown values (when spec.breakdown names attributes).
pub(crate) struct Ledgers<'a> {
    pub(crate) usage: &'a mut UsageLedger,
    pub(crate) attributes: Option<&'a ProfileAttributes>,
}

/// The users (indices) whose word in `words` has `bit`.
pub(crate) fn flagged(words: &[u32], bit: u32) -> Vec<u32> {
    (0..words.len() as u32).filter(|&u| words[u as usize] & bit != 0).collect()
}

/// The org's history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct History {
    /// The System Log has been read without a gap since this time: a period that began earlier is partial.
    pub(crate) coverage_ms: Option<i64>,
    /// When the last sync ended (a gap longer than Okta's retention lost events).
    pub(crate) synced_ms: Option<i64>,
    /// The newest closed month and week: their sign-ins are no longer counted.
    pub(crate) closed_through: BTreeMap<Span, i32>,
    pub(crate) apps: BTreeMap<String, AppHistory>,
    pub(crate) org: Series,
    /// Sign-ins this sync may record: published within what Okta still holds and not in the future.
    accepting: Option<(i64, i64)>,
    /// Sign-ins read too late for their period (it had closed), or outside what Okta holds; a read from
    /// scratch meets closed periods' sign-ins again and does not count them.
    pub(crate) late: u64,
    rereading: bool,
}

impl History {
    /// Prepares a sync at `now_ms`; `fresh_from` is where a read from scratch starts (its open periods
    /// are rebuilt from the log; what was closed stays closed).
    pub(crate) fn begin(&mut self, now_ms: i64, fresh_from: Option<i64>, retention: Retention, ledgers: Ledgers<'_>) {
        let Ledgers { usage, attributes } = ledgers;
        if !retention.enabled() {
            *self = History::default();
            return;
        }
        let oldest_held = now_ms - LOG_RETENTION_MS;
        if let Some(from) = fresh_from {
            self.org.open.clear();
            for app in self.apps.values_mut() {
                app.series.open.clear();
            }
            usage.clear_flags(u32::MAX);
            self.coverage_ms = Some(from);
        } else if self.coverage_ms.is_none() || self.synced_ms.is_none_or(|s| s < oldest_held) {
            self.coverage_ms = Some(oldest_held); // what was published in the gap is gone from Okta
        }
        // Periods ending before what Okta still holds can get no more sign-ins: close them now.
        self.close_ended(oldest_held - DAY_MS, retention, Ledgers { usage, attributes });
        self.accepting = Some((oldest_held - DAY_MS, now_ms + CLOCK_SKEW_MS));
        self.late = 0;
        self.rereading = fresh_from.is_some();
    }

    fn is_closed(&self, period: Period) -> bool {
        self.closed_through.get(&period.span).is_some_and(|&c| period.index <= c)
    }

    /// Counts one sign-in (already known not to be a repeat) into every open period it falls in; returns
    /// their bits, for the pair's flags in the usage ledger.
    pub(crate) fn add(&mut self, app: &str, at_ms: i64) -> u32 {
        if !self.accepting.is_some_and(|(from, until)| (from..=until).contains(&at_ms)) {
            self.late += u64::from(self.accepting.is_some());
            return 0;
        }
        // No allocation per sign-in: at most one month and one week are open for it.
        let periods = Span::ALL.map(|s| Some(Period::containing(s, at_ms)).filter(|&p| !self.is_closed(p)));
        if periods.iter().all(Option::is_none) {
            self.late += u64::from(!self.rereading);
            return 0;
        }
        let entry = match self.apps.get_mut(app) {
            Some(entry) => entry,
            None => self.apps.entry(app.to_string()).or_default(),
        };
        let mut bits = 0;
        for p in periods.into_iter().flatten() {
            entry.series.open.entry(p).or_default().sign_ins += 1;
            bits |= p.bit();
        }
        bits
    }

    /// A sync's end at `now_ms`: apps never in the inventory dropped, seats sampled for periods that just
    /// ended, periods past their lag closed, what left the retention forgotten.
    pub(crate) fn finish(
        &mut self,
        now_ms: i64,
        inventory: &[InventoryApp<'_>],
        retention: Retention,
        ledgers: Ledgers<'_>,
    ) {
        let Ledgers { usage, attributes } = ledgers;
        if !retention.enabled() {
            return;
        }
        let listed: BTreeMap<&str, Option<u64>> = inventory.iter().map(|a| (a.id, a.seats)).collect();
        self.apps.retain(|id, app| app.kept || listed.contains_key(id.as_str()));
        for id in listed.keys() {
            self.apps.entry((*id).to_string()).or_default().kept = true;
        }
        for (id, app) in &mut self.apps {
            app.listed = listed.contains_key(id.as_str());
        }
        usage.retain_apps(|id| self.apps.contains_key(id)); // no flags of apps outside the history
        self.sample_seats(now_ms, &listed);
        self.close_ended(now_ms - CLOSE_LAG_MS, retention, Ledgers { usage, attributes });
        self.org.prune(retention, now_ms);
        self.apps.retain(|id, app| {
            app.series.prune(retention, now_ms);
            listed.contains_key(id.as_str()) || !app.series.is_empty()
        });
        self.synced_ms = Some(now_ms);
        self.accepting = None;
        self.rereading = false;
    }

    /// Seats of the period of each span that ended within the slack before `now_ms`, if not sampled yet.
    fn sample_seats(&mut self, now_ms: i64, listed: &BTreeMap<&str, Option<u64>>) {
        for span in Span::ALL {
            let ended = Period { span, index: Period::containing(span, now_ms).index.saturating_sub(1) };
            if self.is_closed(ended) || now_ms - ended.end_ms() > SEATS_SLACK_MS {
                continue;
            }
            let mut total = Some(0u64);
            for (id, seats) in listed {
                total = total.zip(*seats).map(|(t, s)| t + s);
                if let (Some(seats), Some(app)) = (seats, self.apps.get_mut(*id)) {
                    app.series.open.entry(ended).or_default().seats.get_or_insert(*seats);
                }
            }
            if let Some(total) = total {
                self.org.open.entry(ended).or_default().seats.get_or_insert(total);
            }
        }
    }

    /// Closes every period that ended by `ended_by_ms`, oldest first; periods older than the retention are
    /// only cleared.
    fn close_ended(&mut self, ended_by_ms: i64, retention: Retention, ledgers: Ledgers<'_>) {
        let Ledgers { usage, attributes } = ledgers;
        for span in Span::ALL {
            let last = Period::containing(span, ended_by_ms).index.saturating_sub(1);
            let first = match self.closed_through.get(&span) {
                Some(&c) => c.saturating_add(1),
                None => match self.coverage_ms {
                    Some(coverage) => Period::containing(span, coverage).index,
                    None => continue,
                },
            };
            if first > last {
                continue;
            }
            let kept_from = last.saturating_sub(i32::try_from(retention.keep(span)).unwrap_or(i32::MAX)) + 1;
            let org_users = usage.org_flags();
            let mut mask = 0;
            // Bits and open periods exist only for the last few periods: older ones need no clearing.
            for index in first.max(kept_from.min(last.saturating_sub(32)))..=last {
                let period = Period { span, index };
                if index >= kept_from {
                    self.close(period, &org_users, (usage, attributes));
                }
                mask |= period.bit();
            }
            for app in self.apps.values_mut() {
                app.series.open.retain(|p, _| p.span != span || p.index > last);
            }
            usage.clear_flags(mask);
            self.org.open.retain(|p, _| p.span != span || p.index > last);
            self.closed_through.insert(span, last);
        }
    }

    fn close(&mut self, period: Period, org_users: &[u32], ledgers: (&UsageLedger, Option<&ProfileAttributes>)) {
        let (usage, attributes) = ledgers;
        let partial = self.coverage_ms.is_none_or(|c| period.start_ms() < c);
        let mut sign_ins = 0;
        for (id, app) in &mut self.apps {
            let open = app.series.open.get(&period).copied().unwrap_or_default();
            sign_ins += open.sign_ins;
            if app.listed || open.sign_ins > 0 {
                let users = usage.flagged_users(id, period.bit());
                let active_users = users.len() as u64;
                app.series.push(Tally { period, active_users, sign_ins: open.sign_ins, seats: open.seats, partial });
                app.series.count_values(period, attributes, &users);
            }
        }
        let users = flagged(org_users, period.bit());
        let seats = self.org.open.get(&period).and_then(|o| o.seats);
        self.org.push(Tally { period, active_users: users.len() as u64, sign_ins, seats, partial });
        self.org.count_values(period, attributes, &users);
    }
}

#[cfg(test)]
mod tests;
