//! Everything one running okta-sim holds.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::{Value, json};

use super::auth::Tokens;
use super::clock::SimClock;
use super::events::{EventLog, Position};
use super::faults::FaultRule;
use super::oauth::OAuthServer;
use super::org::Org;
use super::ratelimit::{Bucket, RateLimiter};
use super::rng::mix;

pub struct SimState {
    org: RwLock<Org>,
    pub log: EventLog,
    pub tokens: Tokens,
    pub oauth: OAuthServer,
    pub limiter: RateLimiter,
    pub faults: RwLock<Vec<FaultRule>>,
    pub requests: AtomicU64,
    /// The org's time (the System Log's now, the living org's changes, the truth's default).
    pub clock: SimClock,
    stats: Mutex<BTreeMap<(Bucket, u16), u64>>,
    /// When each credential's last polling read caught up (a page short of its limit), ms.
    caught_up: Mutex<HashMap<String, i64>>,
    cursor_key: u64,
}

impl SimState {
    pub fn new(
        org: Org,
        log: EventLog,
        tokens: Tokens,
        oauth: OAuthServer,
        limiter: RateLimiter,
        faults: Vec<FaultRule>,
    ) -> SimState {
        let cursor_key = mix(org.seed ^ 0xC0FFEE);
        SimState {
            org: RwLock::new(org),
            log,
            tokens,
            oauth,
            limiter,
            faults: RwLock::new(faults),
            requests: AtomicU64::new(0),
            clock: SimClock::default(),
            stats: Mutex::new(BTreeMap::new()),
            caught_up: Mutex::new(HashMap::new()),
            cursor_key,
        }
    }

    pub fn org(&self) -> RwLockReadGuard<'_, Org> {
        self.org.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn org_mut(&self) -> RwLockWriteGuard<'_, Org> {
        self.org.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Cursors are opaque to clients, as Okta's are: a position masked with a per-org key.
    pub fn encode_cursor(&self, position: u64) -> String {
        format!("{:016x}", position ^ self.cursor_key)
    }

    pub fn decode_cursor(&self, cursor: &str) -> Option<u64> {
        (cursor.len() == 16).then(|| u64::from_str_radix(cursor, 16).ok()).flatten().map(|v| v ^ self.cursor_key)
    }

    /// A System Log position as a cursor.
    pub fn encode_position(&self, (time, index): Position) -> String {
        format!("{}{}", self.encode_cursor(time as u64), self.encode_cursor(index ^ 0x5a5a))
    }

    pub fn decode_position(&self, cursor: &str) -> Option<Position> {
        if cursor.len() != 32 || !cursor.is_char_boundary(16) {
            return None;
        }
        let time = self.decode_cursor(&cursor[..16])? as i64;
        let index = self.decode_cursor(&cursor[16..])? ^ 0x5a5a;
        Some((time, index))
    }

    pub fn record(&self, bucket: Bucket, status: u16) {
        if let Ok(mut stats) = self.stats.lock() {
            *stats.entry((bucket, status)).or_default() += 1;
        }
    }

    pub fn caught_up(&self, credential: &str, at_ms: i64) {
        if let Ok(mut c) = self.caught_up.lock() {
            c.insert(credential.to_string(), at_ms);
        }
    }

    /// When `credential`'s last polling read caught up.
    pub fn last_caught_up(&self, credential: &str) -> Option<i64> {
        self.caught_up.lock().ok()?.get(credential).copied()
    }

    /// Requests served per bucket and status code.
    pub fn stats(&self) -> Value {
        let stats = self.stats.lock().map(|s| s.clone()).unwrap_or_default();
        let mut buckets = serde_json::Map::new();
        let mut total = 0;
        for ((bucket, status), n) in stats {
            total += n;
            let entry = buckets.entry(bucket.name()).or_insert_with(|| json!({"requests": 0, "status": {}}));
            entry["requests"] = json!(entry["requests"].as_u64().unwrap_or(0) + n);
            entry["status"][status.to_string()] = json!(n);
        }
        json!({"requests": total, "buckets": buckets, "tokenRequests": self.oauth.token_requests()})
    }
}
