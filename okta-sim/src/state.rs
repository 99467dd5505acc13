//! Everything one running okta-sim holds.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::RwLock;
use std::sync::atomic::AtomicU64;

use serde_json::{Value, json};

use super::auth::Tokens;
use super::events::EventLog;
use super::faults::FaultRule;
use super::org::Org;
use super::ratelimit::{Bucket, RateLimiter};
use super::rng::mix;

pub struct SimState {
    pub org: Org,
    pub log: EventLog,
    pub tokens: Tokens,
    pub limiter: RateLimiter,
    pub faults: RwLock<Vec<FaultRule>>,
    pub requests: AtomicU64,
    stats: Mutex<BTreeMap<(Bucket, u16), u64>>,
    cursor_key: u64,
}

impl SimState {
    pub fn new(org: Org, tokens: Tokens, limiter: RateLimiter, faults: Vec<FaultRule>) -> SimState {
        let log = EventLog::new(&org);
        let cursor_key = mix(org.seed ^ 0xC0FFEE);
        SimState {
            org,
            log,
            tokens,
            limiter,
            faults: RwLock::new(faults),
            requests: AtomicU64::new(0),
            stats: Mutex::new(BTreeMap::new()),
            cursor_key,
        }
    }

    /// Cursors are opaque to clients, as Okta's are: a position masked with a per-org key.
    pub fn encode_cursor(&self, position: u64) -> String {
        format!("{:016x}", position ^ self.cursor_key)
    }

    pub fn decode_cursor(&self, cursor: &str) -> Option<u64> {
        (cursor.len() == 16)
            .then(|| u64::from_str_radix(cursor, 16).ok())
            .flatten()
            .map(|v| v ^ self.cursor_key)
    }

    pub fn record(&self, bucket: Bucket, status: u16) {
        if let Ok(mut stats) = self.stats.lock() {
            *stats.entry((bucket, status)).or_default() += 1;
        }
    }

    /// Requests served per bucket and status code.
    pub fn stats(&self) -> Value {
        let stats = self.stats.lock().map(|s| s.clone()).unwrap_or_default();
        let mut buckets = serde_json::Map::new();
        let mut total = 0;
        for ((bucket, status), n) in stats {
            total += n;
            let entry = buckets
                .entry(bucket.name())
                .or_insert_with(|| json!({"requests": 0, "status": {}}));
            entry["requests"] = json!(entry["requests"].as_u64().unwrap_or(0) + n);
            entry["status"][status.to_string()] = json!(n);
        }
        json!({"requests": total, "buckets": buckets})
    }
}
