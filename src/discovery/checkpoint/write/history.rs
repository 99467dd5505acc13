//! The history's part of a checkpoint: coverage, the newest closed periods, the org's and each app's
//! series (the pairs' flags are in the usage part).

use std::io::Write;

use super::Writer;
use crate::discovery::history::by_value::ValueCounts;
use crate::discovery::history::{History, Series, Span};

fn span_code(span: Span) -> u8 {
    match span {
        Span::Month => 0,
        Span::Week => 1,
    }
}

fn write_series<W: Write>(w: &mut Writer<W>, series: &Series) {
    w.u64(series.closed.len() as u64);
    for t in &series.closed {
        w.byte(span_code(t.period.span));
        w.i64(i64::from(t.period.index));
        w.u64(t.active_users);
        w.u64(t.sign_ins);
        w.opt_i64(t.seats.map(|s| s as i64));
        w.byte(u8::from(t.partial));
    }
    w.u64(series.open.len() as u64);
    for (period, open) in &series.open {
        w.byte(span_code(period.span));
        w.i64(i64::from(period.index));
        w.u64(open.sign_ins);
        w.opt_i64(open.seats.map(|s| s as i64));
    }
}

pub(super) fn write_history<W: Write>(w: &mut Writer<W>, history: &History) {
    w.opt_i64(history.coverage_ms);
    w.opt_i64(history.synced_ms);
    for span in Span::ALL {
        w.opt_i64(history.closed_through.get(&span).map(|&i| i64::from(i)));
    }
    write_series(w, &history.org);
    w.u64(history.apps.len() as u64);
    for (id, app) in &history.apps {
        w.str(id);
        w.byte(u8::from(app.kept) | u8::from(app.listed) << 1);
        write_series(w, &app.series);
    }
}

fn write_counts<W: Write>(w: &mut Writer<W>, months: &std::collections::BTreeMap<i32, ValueCounts>) {
    w.u64(months.len() as u64);
    for (month, counts) in months {
        w.i64(i64::from(*month));
        w.u64(counts.len() as u64);
        for c in counts {
            w.str(&c.attribute);
            w.u64(c.values.len() as u64);
            for (value, n) in &c.values {
                w.str(value);
                w.u64(*n);
            }
        }
    }
}

/// Closed months' active users per breakdown value: the org's, then each app's in the order above.
pub(super) fn write_by_value<W: Write>(w: &mut Writer<W>, history: &History) {
    write_counts(w, &history.org.by_value);
    history.apps.values().for_each(|app| write_counts(w, &app.series.by_value));
}
