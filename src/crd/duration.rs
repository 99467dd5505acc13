//! Parsing of the spec's durations: Go-style intervals (`1h30m`) and day windows (`30d`).

use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DurationError {
    #[error("{0:?} is not a duration: write it like 30m, 1h or 1h30m")]
    Interval(String),
    #[error("{0:?} is not a usage window: write a number of days from 1d to 90d, such as 30d")]
    Window(String),
    #[error("{0:?} is not an inactivity threshold: write a number of days from 1d to 365d, such as 60d")]
    InactiveAfter(String),
}

/// Parses a Go duration (`300ms`, `1.5h`, `1h30m`); the units the CRD's pattern allows: ms, s, m, h.
pub fn parse_go_duration(text: &str) -> Result<Duration, DurationError> {
    let bad = || DurationError::Interval(text.to_string());
    if text.is_empty() {
        return Err(bad());
    }
    let mut rest = text;
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        if number_len == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        rest = &rest[number_len..];
        let (unit_seconds, unit_len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else if rest.starts_with('s') {
            (1.0, 1)
        } else if rest.starts_with('m') {
            (60.0, 1)
        } else if rest.starts_with('h') {
            (3600.0, 1)
        } else {
            return Err(bad());
        };
        total += value * unit_seconds;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// clap's value parser for duration flags: the same Go-duration syntax the CRD accepts.
pub fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_go_duration(text).map_err(|e| e.to_string())
}

/// clap's value parser for a usage window flag, `1d` to `90d`, as days.
pub fn window_days_arg(text: &str) -> Result<u32, String> {
    parse_usage_window(text).map(|w| (w.as_secs() / 86_400) as u32).map_err(|e| e.to_string())
}

/// clap's value parser for `--inactive-after`, `1d` to `365d`, as days.
pub fn inactive_after_arg(text: &str) -> Result<u32, String> {
    parse_inactive_after(text).map_err(|e| e.to_string())
}

/// Parses spec.reclaim.inactiveAfter: whole days, `1d` to `365d`.
pub fn parse_inactive_after(text: &str) -> Result<u32, DurationError> {
    text.strip_suffix('d')
        .and_then(|d| d.parse().ok())
        .filter(|d| (1..=365).contains(d))
        .ok_or_else(|| DurationError::InactiveAfter(text.to_string()))
}

/// Parses a usage window of whole days, `1d` to `90d`.
pub fn parse_usage_window(text: &str) -> Result<Duration, DurationError> {
    let days: u64 = text
        .strip_suffix('d')
        .and_then(|d| d.parse().ok())
        .filter(|d| (1..=90).contains(d))
        .ok_or_else(|| DurationError::Window(text.to_string()))?;
    Ok(Duration::from_secs(days * 86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_go_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_go_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_go_duration("250ms").unwrap(), Duration::from_millis(250));
        for bad in ["", "h", "5", "5d", "1h-3m", "m5"] {
            assert!(parse_go_duration(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn usage_windows() {
        assert_eq!(parse_usage_window("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse_usage_window("1d").unwrap(), Duration::from_secs(86_400));
        for bad in ["0d", "91d", "120d", "30", "d", "7h"] {
            assert!(parse_usage_window(bad).is_err(), "{bad} should be refused");
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_is_a_duration_or_an_error(text in ".{0,40}") {
            let _ = parse_go_duration(&text);
            let _ = parse_usage_window(&text);
        }

        #[test]
        fn go_durations_round_trip(h in 0u64..1000, m in 0u64..60, s in 0u64..60, ms in 0u64..1000) {
            let text = format!("{h}h{m}m{s}s{ms}ms");
            let want = Duration::from_millis(((h * 60 + m) * 60 + s) * 1000 + ms);
            let got = parse_go_duration(&text).expect("a Go duration");
            prop_assert!(got.abs_diff(want) < Duration::from_micros(1), "{text}: {got:?} vs {want:?}");
        }

        #[test]
        fn usage_windows_round_trip(days in 1u32..=90) {
            prop_assert_eq!(parse_usage_window(&format!("{days}d")), Ok(Duration::from_secs(u64::from(days) * 86_400)));
        }
    }
}
