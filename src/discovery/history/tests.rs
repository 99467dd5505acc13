use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::discovery::history::view::{Active, ViewOf};
use crate::discovery::usage::UsageLedger;

/// The history with the usage ledger that holds its pairs' flags, driven as the engine drives both.
#[derive(Default)]
struct Org {
    h: History,
    u: UsageLedger,
}

impl std::ops::Deref for Org {
    type Target = History;
    fn deref(&self) -> &History {
        &self.h
    }
}

impl Org {
    fn begin(&mut self, now_ms: i64, fresh_from: Option<i64>, retention: Retention) {
        self.h.begin(now_ms, fresh_from, retention, Ledgers { usage: &mut self.u, attributes: None });
    }
    fn add(&mut self, app: &str, user: u32, at_ms: i64) {
        let flags = self.h.add(app, at_ms);
        self.u.record(app, user, at_ms, flags, false);
    }
    fn finish(&mut self, now_ms: i64, inventory: &[InventoryApp<'_>], retention: Retention) {
        self.h.finish(now_ms, inventory, retention, Ledgers { usage: &mut self.u, attributes: None });
        self.u.prune(i64::MAX, |_| Vec::new()); // no usage window here: only pairs of open periods stay
    }
    fn pairs(&self) -> usize {
        self.u.pairs()
    }
    fn org_flags(&self) -> Vec<u32> {
        self.u.org_flags()
    }
}

fn ms(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text).map(|t| t.timestamp_millis()).unwrap_or(i64::MIN)
}

fn inventory<'a>(ids: &'a [&'a str], seats: u64) -> Vec<InventoryApp<'a>> {
    ids.iter().map(|&id| InventoryApp { id, seats: Some(seats) }).collect()
}

fn month(label: &str) -> Period {
    Period::parse(Span::Month, label).unwrap_or(Period { span: Span::Month, index: -1 })
}

fn tally(series: &Series, label: &str) -> Option<Tally> {
    series.closed.iter().find(|t| t.period == month(label)).copied()
}

/// A sign-in stream replayed through syncs every `step` days must close every month and week with exactly
/// the distinct users and sign-ins a brute-force count over the same events gives.
#[test]
fn closed_periods_equal_a_brute_force_count_over_many_syncs() {
    let start = ms("2026-01-10T00:00:00Z");
    let day = DAY_MS;
    let mut events: Vec<(i64, &str, u32)> = Vec::new();
    let mut x = 7u64;
    for i in 0..6_000i64 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let at = start + i * (day / 20) + (x >> 40) as i64 % (day / 20);
        events.push((at, if x.is_multiple_of(3) { "0oaB" } else { "0oaA" }, ((x >> 20) % 40) as u32));
    }
    let mut h = Org::default();
    let retention = Retention { months: 25, weeks: 104 };
    let first_sync = start + 30 * day;
    h.begin(first_sync, Some(first_sync - LOG_RETENTION_MS), retention);
    let mut next = 0;
    let mut now = first_sync;
    while now < start + 320 * day {
        while next < events.len() && events[next].0 <= now {
            let (at, app, user) = events[next];
            h.add(app, user, at);
            next += 1;
        }
        h.finish(now, &inventory(&["0oaA", "0oaB"], 40), retention);
        now += 3 * day + 7 * HOUR_MS;
        h.begin(now, None, retention);
    }
    assert_eq!(h.late, 0);
    let mut truth: BTreeMap<(&str, Period), (BTreeSet<u32>, u64)> = BTreeMap::new();
    for &(at, app, user) in &events[..next] {
        for span in Span::ALL {
            for key in [app, "org"] {
                let t = truth.entry((key, Period::containing(span, at))).or_default();
                t.0.insert(user);
                t.1 += 1;
            }
        }
    }
    let mut checked = 0;
    for ((key, period), (users, sign_ins)) in &truth {
        let series = if *key == "org" { &h.org } else { &h.apps[*key].series };
        let Some(t) = series.closed.iter().find(|t| t.period == *period) else {
            assert!(!h.is_closed(*period), "{key} {period:?} closed without a tally");
            continue;
        };
        assert_eq!((t.active_users, t.sign_ins), (users.len() as u64, *sign_ins), "{key} {}", period.label());
        assert!(!t.partial);
        checked += 1;
    }
    assert!(checked > 70, "{checked} periods compared");
}

#[test]
fn a_first_sync_backfills_what_okta_holds_and_marks_the_oldest_periods_partial() {
    let now = ms("2026-11-20T10:00:00Z");
    let mut h = Org::default();
    let from = now - LOG_RETENTION_MS; // 2026-08-22
    h.begin(now, Some(from), Retention::default());
    h.add("0oaA", 1, ms("2026-08-25T00:00:00Z"));
    h.add("0oaA", 2, ms("2026-09-03T00:00:00Z"));
    h.add("0oaA", 2, ms("2026-09-04T00:00:00Z"));
    h.add("0oaA", 3, ms("2026-11-02T00:00:00Z"));
    h.add("0oaA", 4, ms("2026-01-02T00:00:00Z")); // older than Okta keeps: a hostile or broken server
    h.finish(now, &inventory(&["0oaA"], 9), Retention::default());
    let a = &h.apps["0oaA"].series;
    assert_eq!(tally(a, "2026-08").map(|t| (t.active_users, t.sign_ins, t.partial)), Some((1, 1, true)));
    assert_eq!(tally(a, "2026-09").map(|t| (t.active_users, t.sign_ins, t.partial)), Some((1, 2, false)));
    assert_eq!(tally(a, "2026-10").map(|t| (t.active_users, t.seats)), Some((0, None)), "seats not seen in time");
    assert_eq!(tally(a, "2026-11"), None, "the current month is open");
    assert_eq!(h.late, 1);
    let view = h.view(
        a,
        ViewOf { active: Active::App(&h.u, "0oaA"), org: false, attributes: None },
        now,
        Retention::default(),
    );
    let months: Vec<(&str, u64, bool)> =
        view.months.iter().map(|m| (m.month.as_str(), m.active_users, m.in_progress)).collect();
    assert_eq!(months, vec![("2026-11", 1, true), ("2026-10", 0, false), ("2026-09", 1, false), ("2026-08", 1, false)]);
    assert_eq!(view.weeks.first().map(|w| w.week.as_str()), Some("2026-W47"));
}

#[test]
fn a_month_closes_after_the_lag_with_the_seats_seen_when_it_ended_and_late_sign_ins_stay_out() {
    let mut h = Org::default();
    let retention = Retention::default();
    let t0 = ms("2026-10-31T23:59:50Z");
    h.begin(t0, Some(t0 - LOG_RETENTION_MS), retention);
    h.add("0oaA", 1, ms("2026-10-31T23:59:00Z"));
    h.finish(t0, &inventory(&["0oaA"], 5), retention);
    let end = ms("2026-11-01T00:00:00Z");
    h.begin(end + 10 * 60_000, None, retention);
    h.add("0oaA", 2, ms("2026-10-31T23:59:30Z")); // late, but within the lag
    h.finish(end + 10 * 60_000, &inventory(&["0oaA"], 7), retention);
    assert!(tally(&h.apps["0oaA"].series, "2026-10").is_none(), "not closed within the lag");
    h.begin(end + 2 * HOUR_MS, None, retention);
    h.add("0oaA", 3, ms("2026-11-01T01:00:00Z"));
    h.finish(end + 2 * HOUR_MS, &inventory(&["0oaA"], 8), retention);
    let oct = tally(&h.apps["0oaA"].series, "2026-10");
    assert_eq!(
        oct.map(|t| (t.active_users, t.sign_ins, t.seats)),
        Some((2, 2, Some(7))),
        "seats of the first sync after"
    );
    assert_eq!(tally(&h.org, "2026-10").map(|t| (t.active_users, t.seats)), Some((2, Some(7))));
    h.begin(end + 3 * HOUR_MS, None, retention);
    h.add("0oaA", 9, ms("2026-10-20T12:00:00Z"));
    h.finish(end + 3 * HOUR_MS, &inventory(&["0oaA"], 8), retention);
    assert_eq!(h.late, 1, "a sign-in for a closed month and week is not counted there");
    assert_eq!(tally(&h.apps["0oaA"].series, "2026-10").map(|t| t.sign_ins), Some(2));
    assert_eq!(h.pairs(), 3, "all three are in the week that ends on 2026-11-01");
    let after_week = ms("2026-11-02T02:00:00Z");
    h.begin(after_week, None, retention);
    h.finish(after_week, &inventory(&["0oaA"], 8), retention);
    assert_eq!(h.pairs(), 1, "only November's user keeps flags");
}

#[test]
fn the_org_counts_each_user_once_over_apps_and_apps_outside_the_inventory_leave_no_trace() {
    let mut h = Org::default();
    let retention = Retention::default();
    let now = ms("2026-12-02T00:00:00Z");
    h.begin(now, Some(now - LOG_RETENTION_MS), retention);
    for (app, user) in [("0oaA", 1), ("0oaB", 1), ("0oaB", 2), ("0oaOkta", 3)] {
        h.add(app, user, ms("2026-11-10T00:00:00Z"));
    }
    h.finish(now, &inventory(&["0oaA", "0oaB"], 3), retention);
    assert!(!h.apps.contains_key("0oaOkta"));
    let nov = tally(&h.org, "2026-11");
    assert_eq!(nov.map(|t| (t.active_users, t.sign_ins, t.seats)), Some((2, 3, Some(6))));
    // 0oaB deleted in Okta: it keeps its history; an app never listed is still dropped.
    let later = ms("2026-12-20T00:00:00Z");
    h.begin(later, None, retention);
    h.finish(later, &inventory(&["0oaA"], 3), retention);
    assert_eq!(tally(&h.apps["0oaB"].series, "2026-11").map(|t| t.active_users), Some(2));
    let far = ms("2028-03-01T00:00:00Z");
    h.begin(far, None, retention);
    h.finish(far, &inventory(&["0oaA"], 3), retention);
    assert!(!h.apps.contains_key("0oaB"), "gone once its months left the retention");
    let count = |span| h.org.closed.iter().filter(|t| t.period.span == span).count();
    assert_eq!((count(Span::Month), count(Span::Week)), (11, 25), "February ended less than the lag ago");
    let users = h.org_flags();
    let view = h.view(&h.org, ViewOf { active: Active::Org(&users), org: true, attributes: None }, far, retention);
    assert_eq!((view.months.len(), view.weeks.len()), (13, 26), "13 months and 26 weeks with the open ones");
    // After a gap longer than Okta keeps, what began before the oldest event it still holds is partial.
    assert_eq!(tally(&h.org, "2027-06").map(|t| t.partial), Some(true));
    assert_eq!(tally(&h.org, "2028-01").map(|t| t.partial), Some(false));
}

#[test]
fn a_fresh_read_rebuilds_open_periods_and_keeps_closed_ones() {
    let mut h = Org::default();
    let retention = Retention::default();
    let t0 = ms("2026-11-10T00:00:00Z");
    h.begin(t0, Some(t0 - LOG_RETENTION_MS), retention);
    h.add("0oaA", 1, ms("2026-10-05T00:00:00Z"));
    h.add("0oaA", 1, ms("2026-11-05T00:00:00Z"));
    h.finish(t0, &inventory(&["0oaA"], 1), retention);
    let oct = tally(&h.apps["0oaA"].series, "2026-10");
    // The checkpoint is lost: the log is read again from 90 days back.
    let t1 = t0 + DAY_MS;
    h.begin(t1, Some(t1 - LOG_RETENTION_MS), retention);
    h.add("0oaA", 1, ms("2026-10-05T00:00:00Z"));
    h.add("0oaA", 1, ms("2026-11-05T00:00:00Z"));
    h.finish(t1, &inventory(&["0oaA"], 1), retention);
    assert_eq!(tally(&h.apps["0oaA"].series, "2026-10"), oct, "a closed month is not counted twice");
    assert_eq!(h.apps["0oaA"].series.open.get(&month("2026-11")).map(|o| o.sign_ins), Some(1));
}
