//! Deterministic randomness: every generated fact is a pure function of (seed, what, index), so pages can be
//! produced lazily in any order and two runs with one seed serve the same org.

/// SplitMix64 finaliser: a well-mixed 64-bit hash of the input.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of a seed, a domain tag and an index.
pub fn hash3(seed: u64, tag: u64, index: u64) -> u64 {
    mix(mix(seed ^ tag.wrapping_mul(0xA24B_AED4_963E_E407)) ^ index)
}

/// A small sequential generator seeded from a hash, for facts that need several draws.
pub struct Draws(u64);

impl Draws {
    pub fn new(seed: u64, tag: u64, index: u64) -> Self {
        Draws(hash3(seed, tag, index))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [0, n); n must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// An Okta-style 20-character id: a 3-character type prefix (00u users, 0oa apps, 00g groups) and 17 characters.
pub fn okta_id(prefix: &str, seed: u64, tag: u64, index: u64) -> String {
    let mut draws = Draws::new(seed, tag, index);
    let mut id = String::with_capacity(20);
    id.push_str(prefix);
    while id.len() < 20 {
        id.push(ALPHABET[draws.below(ALPHABET.len() as u64) as usize] as char);
    }
    id
}

/// A lowercase hex UUID-like string (System Log uuid, transaction ids).
pub fn uuid(seed: u64, tag: u64, index: u64) -> String {
    let a = hash3(seed, tag, index);
    let b = hash3(seed, tag ^ 0xFFFF, index);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        0x1000 | (a & 0x0FFF),
        0x8000 | ((b >> 48) & 0x3FFF),
        b & 0xFFFF_FFFF_FFFF
    )
}
