//! One cell of text into an `f64`, exactly rounded: the only number parser of the project.

/// Why a cell is not a usable number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellProblem {
    /// Empty, or only spaces.
    Missing,
    /// Text that is not a number (the cell as written, at most 40 characters).
    NotANumber(String),
    /// NaN, an infinity, or a decimal beyond the range of an f64 such as `1e400` (as written).
    NonFinite(String),
}

/// Powers of ten that are exact in an f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Whether a decimal of `digits` digits (at most 19, so their value did not wrap) whose
/// digits make `mantissa` takes [`exact_decimal`]: the mantissa is then at most 2^53 and the
/// decimals at most 19, both exact in an f64.
#[inline]
pub(crate) fn is_exact(digits: usize, mantissa: u64) -> bool {
    digits > 0 && digits <= 19 && mantissa <= 1 << 53
}

/// `±mantissa / 10^decimals` for a mantissa of at most 2^53 and at most 22 decimals: both exact
/// in an f64, so the one division rounds correctly (Clinger's fast path; see [`is_exact`]).
#[inline]
pub(crate) fn exact_decimal(mantissa: u64, decimals: usize, negative: bool) -> f64 {
    // At most 2^53, so the signed conversion (one instruction) is exact.
    let v = mantissa as i64 as f64 / POW10[decimals];
    // The sign goes in without a branch: signs in data are random, so a branch mispredicts.
    f64::from_bits(v.to_bits() | (u64::from(negative) << 63))
}

/// The text of a cell without surrounding spaces and without one pair of double quotes
/// (`"1.5"` reads as `1.5`; `""` inside quotes is a literal quote).
pub fn unquote(cell: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let t = cell.trim_ascii();
    match t {
        [b'"', inner @ .., b'"'] if !inner.is_empty() || t.len() == 2 => {
            if memchr::memchr(b'"', inner).is_some() {
                let mut out = Vec::with_capacity(inner.len());
                let mut i = 0;
                while i < inner.len() {
                    out.push(inner[i]);
                    i += if inner[i] == b'"' && inner.get(i + 1) == Some(&b'"') {
                        2
                    } else {
                        1
                    };
                }
                std::borrow::Cow::Owned(out)
            } else {
                std::borrow::Cow::Borrowed(inner.trim_ascii())
            }
        }
        _ => std::borrow::Cow::Borrowed(t),
    }
}

/// Parse one CSV cell into a finite number.
///
/// Spaces around the value and one pair of double quotes are allowed. Plain decimals whose digits
/// make at most 2^53 (all of 15 digits, most of 16) take Clinger's fast path (the digits as an
/// exact integer, divided by an exact power of ten: one correctly rounded operation); anything
/// else (exponents, longer mantissas) goes to the standard library's correct parser. Either way
/// the result is the nearest f64.
///
/// ```
/// use dataset::{CellProblem, parse_cell};
/// assert_eq!(parse_cell(b" -122.23 "), Ok(-122.23));
/// assert_eq!(parse_cell(b"\"1.5\""), Ok(1.5));
/// assert_eq!(parse_cell(b""), Err(CellProblem::Missing));
/// assert_eq!(parse_cell(b"1e400"), Err(CellProblem::NonFinite("1e400".into())));
/// ```
pub fn parse_cell(cell: &[u8]) -> Result<f64, CellProblem> {
    if let Some(v) = plain_decimal(cell) {
        return Ok(v);
    }
    let text = unquote(cell);
    if text.is_empty() {
        return Err(CellProblem::Missing);
    }
    let shown = || {
        String::from_utf8_lossy(&text)
            .chars()
            .take(40)
            .collect::<String>()
    };
    let parsed = plain_decimal(&text).or_else(|| {
        std::str::from_utf8(&text)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
    });
    match parsed {
        Some(v) if v.is_finite() => Ok(v),
        Some(_) => Err(CellProblem::NonFinite(shown())),
        None => Err(CellProblem::NotANumber(shown())),
    }
}

/// `[+-]digits[.digits]` whose digits make at most 2^53 ([`is_exact`]), nothing else: the fast
/// path, or `None`.
#[inline]
fn plain_decimal(s: &[u8]) -> Option<f64> {
    let (negative, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
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
    let digits = integer_digits + decimals;
    (i == body.len() && is_exact(digits, mantissa))
        .then(|| exact_decimal(mantissa, decimals, negative))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_parse(c: &str) -> Option<f64> {
        c.trim().parse().ok()
    }

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
            "999999999999999.9",
            "0.0000000000000000000001",
            "1e-320",
            // Around 2^53, where the fast path ends, and past 19 digits.
            "9007199254740992",
            "9007199254740993",
            "-900719925474099.3",
            "0.9007199254740993",
            "1.0238095238095237",
            "9999999999999999999",
            "0.00000000000000000012345",
            "123456789012345678901",
        ];
        for c in cases {
            let want = std_parse(c).expect(c);
            assert_eq!(
                parse_cell(c.as_bytes()).map(f64::to_bits),
                Ok(want.to_bits()),
                "{c:?}"
            );
        }
        for bad in ["-", ".", "1.2.3", "abc", "1,5", "--1"] {
            assert_eq!(
                parse_cell(bad.as_bytes()),
                Err(CellProblem::NotANumber(bad.to_owned())),
                "{bad:?}"
            );
        }
        for missing in ["", "  ", "\"\"", " \" \" "] {
            assert_eq!(
                parse_cell(missing.as_bytes()),
                Err(CellProblem::Missing),
                "{missing:?}"
            );
        }
        for (odd, shown) in [
            ("inf", "inf"),
            ("-inf", "-inf"),
            ("NaN", "NaN"),
            (" 1e400", "1e400"),
        ] {
            assert_eq!(
                parse_cell(odd.as_bytes()),
                Err(CellProblem::NonFinite(shown.to_owned()))
            );
        }
    }

    #[test]
    fn quotes_are_taken_off() {
        assert_eq!(parse_cell(b"\"1.5\""), Ok(1.5));
        assert_eq!(parse_cell(b" \" -2e3 \" "), Ok(-2000.0));
        assert_eq!(
            parse_cell(b"\"a\"\"b\""),
            Err(CellProblem::NotANumber("a\"b".into()))
        );
        assert_eq!(unquote(b"\"x,y\"").as_ref(), b"x,y");
    }

    #[test]
    fn agrees_on_many_random_decimals() {
        let mut z = 0x1234_5678_9abc_def0_u64;
        for _ in 0..200_000 {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            // Up to 19 digits, so mantissas on both sides of 2^53 (the fast path's limit).
            let digits = (z % 20) as usize;
            let value = (z >> 8) % 10_u64.pow(digits as u32);
            let point = (z >> 4) as usize % (digits + 1);
            let mut text = value.to_string();
            if point < text.len() {
                text.insert(text.len() - point, '.');
            }
            if z & 1 == 1 {
                text.insert(0, '-');
            }
            let want: f64 = text.parse().expect("a decimal");
            assert_eq!(
                parse_cell(text.as_bytes()).map(f64::to_bits),
                Ok(want.to_bits()),
                "{text}"
            );
        }
    }
}
