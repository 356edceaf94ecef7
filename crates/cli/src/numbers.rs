//! Decimal numbers from CSV bytes, fast and exactly rounded.

/// Look at the first bytes of a CSV: refuse a gzip archive, and tell whether the first line is
/// a header (its first field is not a number).
pub fn sniff_header(name: &str, head: &[u8]) -> anyhow::Result<bool> {
    if head.starts_with(&[0x1f, 0x8b]) {
        anyhow::bail!("{name}: a compressed archive; this reads plain CSV (unpack it first)");
    }
    let first_field = head
        .split(|&b| b == b',' || b == b'\n')
        .next()
        .unwrap_or_default();
    Ok(parse(first_field).is_none())
}

/// Powers of ten that are exact in an f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `±mantissa / 10^decimals` for a mantissa below 10^15 and at most 15 decimals: both exact in
/// an f64, so the one division rounds correctly (Clinger's fast path).
#[inline]
pub fn exact_decimal(mantissa: u64, decimals: usize, negative: bool) -> f64 {
    // Below 2^53, so the signed conversion (one instruction) is exact.
    let v = mantissa as i64 as f64 / POW10[decimals];
    if negative { -v } else { v }
}

/// Parse a decimal such as `-122.230000` (spaces around it allowed).
///
/// Plain decimals with at most 15 digits take Clinger's fast path:
/// the digits as an exact integer divided by an exact power of ten, one correctly rounded
/// division, so the result is the nearest f64, as `str::parse` gives. Anything else (exponents,
/// long mantissas, `inf`, `nan`) goes to `str::parse`.
pub fn parse(cell: &[u8]) -> Option<f64> {
    let s = cell.trim_ascii();
    let (negative, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    // Digits, an optional point, digits: two tight loops, no per-digit bookkeeping.
    let mut mantissa: u64 = 0;
    let mut i = 0;
    while i < body.len() && body[i].is_ascii_digit() {
        mantissa = mantissa
            .wrapping_mul(10)
            .wrapping_add(u64::from(body[i] - b'0'));
        i += 1;
    }
    let integer_digits = i;
    let mut decimals = 0;
    if i < body.len() && body[i] == b'.' {
        i += 1;
        let start = i;
        while i < body.len() && body[i].is_ascii_digit() {
            mantissa = mantissa
                .wrapping_mul(10)
                .wrapping_add(u64::from(body[i] - b'0'));
            i += 1;
        }
        decimals = i - start;
    }
    // At most 15 digits in all keeps the mantissa below 10^15 < 2^53: exact.
    let digits = integer_digits + decimals;
    if i == body.len() && digits > 0 && digits <= 15 {
        return Some(exact_decimal(mantissa, decimals, negative));
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_standard_parser() {
        let cases = [
            "0",
            "-0",
            "1",
            "8.3252",
            "-122.230000",
            "452600.000000",
            "0.1",
            "0.30000000000000004",
            "123456789012345",
            "1234567890123456789",
            "1e5",
            "-2.5E-3",
            "  37.88 ",
            "007.5",
            ".5",
            "5.",
            "+3.25",
            "inf",
            "-inf",
            "NaN",
            "999999999999999.9",
            "0.0000000000000000000001",
        ];
        for c in cases {
            let want: Option<f64> = c.trim().parse().ok();
            let got = parse(c.as_bytes());
            match (got, want) {
                (Some(a), Some(b)) if a.is_nan() && b.is_nan() => {}
                (a, b) => assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "{c:?}"),
            }
        }
        for bad in ["", "-", ".", "1.2.3", "abc", "1,5", "--1"] {
            assert_eq!(parse(bad.as_bytes()), bad.parse::<f64>().ok(), "{bad:?}");
        }
    }

    #[test]
    fn agrees_on_many_random_decimals() {
        let mut z = 0x1234_5678_9abc_def0_u64;
        for _ in 0..200_000 {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            let digits = (z % 16) as usize;
            let value = (z >> 8) % 10_u64.pow(digits as u32 % 16);
            let point = (z >> 4) as usize % (digits + 1);
            let mut text = value.to_string();
            if point < text.len() {
                text.insert(text.len() - point, '.');
            }
            if z & 1 == 1 {
                text.insert(0, '-');
            }
            let want: f64 = text.parse().unwrap_or(f64::NAN);
            if let Some(got) = parse(text.as_bytes()) {
                assert_eq!(got.to_bits(), want.to_bits(), "{text}");
            }
        }
    }
}
