//! Money as exact decimals: a price is a string such as "12.50", multiplied by seat counts and summed
//! without floating point, written back with its own places (at least two). A leaf: the contract
//! controller computes with it, the CLI sums what status says.

/// A non-negative decimal: `units` × 10^-`scale`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Decimal {
    units: u128,
    scale: u32,
}

/// Places a price may have (the CRD allows four).
const MAX_SCALE: u32 = 4;
/// Whole digits of a price (the CRD allows twelve).
const PRICE_DIGITS: usize = 12;
/// Whole digits of an amount computed from a price (12 digits times a seat count of at most 8).
const AMOUNT_DIGITS: usize = 24;

impl Decimal {
    /// Parses a price: digits with an optional point and at most four places ("12", "12.5", "0.0001").
    pub(crate) fn parse(text: &str) -> Option<Decimal> {
        Decimal::parse_with(text, PRICE_DIGITS)
    }

    /// Parses an amount status holds (a price times seats): the same form, more whole digits.
    pub(crate) fn parse_amount(text: &str) -> Option<Decimal> {
        Decimal::parse_with(text, AMOUNT_DIGITS)
    }

    fn parse_with(text: &str, max_whole: usize) -> Option<Decimal> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| !s.is_empty() && s.len() <= max_whole && s.bytes().all(|b| b.is_ascii_digit());
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

    /// The exact sum, with the larger number of places.
    pub(crate) fn plus(self, other: Decimal) -> Decimal {
        let scale = self.scale.max(other.scale);
        let at = |d: Decimal| d.units.saturating_mul(10u128.pow(scale - d.scale));
        Decimal { units: at(self).saturating_add(at(other)), scale }
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
        let sum = |v: &[&str]| {
            v.iter().filter_map(|a| Decimal::parse_amount(a)).fold(Decimal::parse("0").expect("zero"), Decimal::plus)
        };
        assert_eq!(sum(&["0.10", "0.20"]).to_string(), "0.30");
        assert_eq!(sum(&["1250.00", "475.5000"]).to_string(), "1725.5000");
        assert_eq!(sum(&["7"]).to_string(), "7.00");
        assert_eq!(sum(&["9999999999999999000.0000", "1"]).to_string(), "9999999999999999001.0000");
    }
}
