//! Faults on demand for reliability tests, including every hostile answer a client must survive. A rule:
//! `KIND[:key=value,...]`; keys: rate=P (probability), nth=N (the Nth matching request, once), every=N,
//! path=PREFIX (default /api/v1/), ms=N (latency/slow/429 wait), times=N (fire at most N times).
//!
//! Kinds: 500, 502, 503, 504, 429, latency, slow, reset, malformed, and the hostile ones:
//! gzip-bomb (a small gzip body that inflates to 1 GiB), huge-body (300 MiB of JSON-looking bytes),
//! repeat-next (a list page whose next link is itself), repeat-log-page (a log page served again under
//! the same cursor), huge-error (a 2 MiB errorSummary with terminal escapes), long-error (3 KiB of
//! non-ASCII errorSummary), control-chars (app labels with terminal escapes and spreadsheet formulas),
//! nulls (a null label, a user without status, an event without published), stale-reset (a 429 whose
//! X-Rate-Limit-Reset is in the past), huge-rate-headers (X-Rate-Limit-* of 2^63), 401-plain and
//! 403-plain (a proxy's answer, without Okta's errorCode).

use std::sync::atomic::{AtomicU64, Ordering};

use super::rng::hash3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    Status(u16),
    RateLimited,
    Latency,
    Slow,
    Reset,
    Malformed,
    GzipBomb,
    HugeBody,
    RepeatNext,
    RepeatLogPage,
    HugeError,
    LongError,
    ControlChars,
    Nulls,
    StaleReset,
    HugeRateHeaders,
    PlainUnauthorized,
    PlainForbidden,
}

impl FaultKind {
    fn parse(name: &str) -> Option<FaultKind> {
        Some(match name {
            "500" | "502" | "503" | "504" => FaultKind::Status(name.parse().ok()?),
            "429" => FaultKind::RateLimited,
            "latency" => FaultKind::Latency,
            "slow" => FaultKind::Slow,
            "reset" => FaultKind::Reset,
            "malformed" => FaultKind::Malformed,
            "gzip-bomb" => FaultKind::GzipBomb,
            "huge-body" => FaultKind::HugeBody,
            "repeat-next" => FaultKind::RepeatNext,
            "repeat-log-page" => FaultKind::RepeatLogPage,
            "huge-error" => FaultKind::HugeError,
            "long-error" => FaultKind::LongError,
            "control-chars" => FaultKind::ControlChars,
            "nulls" => FaultKind::Nulls,
            "stale-reset" => FaultKind::StaleReset,
            "huge-rate-headers" => FaultKind::HugeRateHeaders,
            "401-plain" => FaultKind::PlainUnauthorized,
            "403-plain" => FaultKind::PlainForbidden,
            _ => return None,
        })
    }
}

pub struct FaultRule {
    pub spec: String,
    pub kind: FaultKind,
    rate: Option<f64>,
    nth: Option<u64>,
    every: Option<u64>,
    times: Option<u64>,
    path: String,
    pub ms: u64,
    seen: AtomicU64,
    fired: AtomicU64,
}

impl FaultRule {
    pub fn parse(spec: &str) -> Result<FaultRule, String> {
        let (kind, options) = spec.split_once(':').unwrap_or((spec, ""));
        let kind = FaultKind::parse(kind).ok_or_else(|| format!("fault {spec:?}: unknown kind {kind:?}"))?;
        let mut rule = FaultRule {
            spec: spec.to_string(),
            kind,
            rate: None,
            nth: None,
            every: None,
            times: None,
            path: "/api/v1/".into(),
            ms: match kind {
                FaultKind::Slow => 30_000,
                FaultKind::Latency => 50,
                _ => 1_000,
            },
            seen: AtomicU64::new(0),
            fired: AtomicU64::new(0),
        };
        for opt in options.split(',').filter(|o| !o.is_empty()) {
            let (k, v) =
                opt.split_once('=').ok_or_else(|| format!("fault {spec:?}: option {opt:?} needs key=value"))?;
            let num = || v.parse::<u64>().map_err(|_| format!("fault {spec:?}: {k} takes a whole number"));
            match k {
                "rate" => rule.rate = Some(v.parse().map_err(|_| format!("fault {spec:?}: rate takes 0..1"))?),
                "nth" => rule.nth = Some(num()?),
                "every" => rule.every = Some(num()?.max(1)),
                "times" => rule.times = Some(num()?),
                "ms" => rule.ms = num()?,
                "path" => rule.path = v.to_string(),
                _ => return Err(format!("fault {spec:?}: unknown option {k:?}")),
            }
        }
        if rule.rate.is_none() && rule.nth.is_none() && rule.every.is_none() {
            rule.rate = Some(1.0);
        }
        Ok(rule)
    }

    /// Whether this rule fires for a request to `path` (counts the request if the path matches).
    pub fn fires(&self, seed: u64, path: &str) -> bool {
        if !path.starts_with(&self.path) {
            return false;
        }
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if self.times.is_some_and(|t| self.fired.load(Ordering::SeqCst) >= t) {
            return false;
        }
        let fire = self.nth == Some(n)
            || self.every.is_some_and(|e| n.is_multiple_of(e))
            || self.rate.is_some_and(|p| ((hash3(seed, 77, n) >> 11) as f64 / (1u64 << 53) as f64) < p);
        if fire {
            self.fired.fetch_add(1, Ordering::SeqCst);
        }
        fire
    }

    pub fn fired(&self) -> u64 {
        self.fired.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_fires_once_and_path_filters() {
        let rule = FaultRule::parse("503:nth=2,path=/api/v1/logs").unwrap();
        let fired: Vec<bool> = (0..4).map(|_| rule.fires(1, "/api/v1/logs")).collect();
        assert_eq!(fired, [false, true, false, false]);
        assert!(!rule.fires(1, "/api/v1/users"));
    }

    #[test]
    fn rate_is_roughly_honoured_and_times_caps() {
        let rule = FaultRule::parse("500:rate=0.2").unwrap();
        let n = (0..10_000).filter(|_| rule.fires(7, "/api/v1/users")).count();
        assert!((1_700..2_300).contains(&n), "{n}");
        let capped = FaultRule::parse("malformed:times=3").unwrap();
        assert_eq!((0..10).filter(|_| capped.fires(1, "/api/v1/apps")).count(), 3);
        assert!(FaultRule::parse("explode").is_err());
        for kind in [
            "gzip-bomb",
            "huge-body",
            "repeat-next",
            "repeat-log-page",
            "huge-error",
            "long-error",
            "control-chars",
            "nulls",
            "stale-reset",
            "huge-rate-headers",
            "401-plain",
            "403-plain",
        ] {
            assert!(FaultRule::parse(kind).is_ok(), "{kind}");
        }
    }
}
