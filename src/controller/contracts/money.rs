//! Money as exact decimals: a price is a string such as "12.50", multiplied by seat counts without
//! floating point, written back with the price's own places (at least two).

/// A non-negative decimal: `units` × 10^-`scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decimal {
    units: u128,
    scale: u32,
}

/// Places a price may have (the CRD allows four).
const MAX_SCALE: u32 = 4;

impl Decimal {
    /// Parses digits with an optional point and at most four places ("12", "12.5", "0.0001").
    pub(crate) fn parse(text: &str) -> Option<Decimal> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (text.contains('.') && !digits(fraction)) || fraction.len() > MAX_SCALE as usize {
            return None;
        }
        let units = format!("{whole}{fraction}").parse().ok()?;
        Some(Decimal { units, scale: fraction.len() as u32 })
    }

    /// This amount times `n` (exact: 12 digits times a seat count stays far inside u128).
    pub(crate) fn times(self, n: u64) -> Decimal {
        Decimal { units: self.units.saturating_mul(u128::from(n)), scale: self.scale }
    }

    /// For metrics only (a gauge is a float); status keeps the exact text.
    pub(crate) fn as_f64(self) -> f64 {
        self.units as f64 / 10f64.powi(self.scale as i32)
    }
}

impl std::fmt::Display for Decimal {
    /// With the price's places, at least two: 1250.00, 0.1250.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scale = self.scale.max(2);
        let units = self.units * 10u128.pow(scale - self.scale);
        let unit = 10u128.pow(scale);
        write!(f, "{}.{:0width$}", units / unit, units % unit, width = scale as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_multiply_exactly_and_keep_their_places() {
        let p = Decimal::parse("12.50").expect("price");
        assert_eq!(p.times(100).to_string(), "1250.00");
        assert_eq!(Decimal::parse("0.1").expect("price").times(3).to_string(), "0.30", "no 0.30000000000000004");
        assert_eq!(Decimal::parse("7").expect("price").times(0).to_string(), "0.00");
        assert_eq!(Decimal::parse("0.0125").expect("price").times(8).to_string(), "0.1000");
        assert_eq!(
            Decimal::parse("999999999999.9999").expect("price").times(10_000_000).to_string(),
            "9999999999999999000.0000"
        );
        for bad in ["", ".5", "5.", "-1", "1e3", "1.23456", "1,5", " 1", "1234567890123"] {
            assert_eq!(Decimal::parse(bad), None, "{bad:?}");
        }
        assert!((p.times(3).as_f64() - 37.5).abs() < 1e-9);
    }
}
