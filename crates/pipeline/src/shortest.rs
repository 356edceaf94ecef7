//! Numbers written as the standard library's `Display` writes them, faster: the predictions of
//! `predict`'s CSV output.

/// Append `v` exactly as `format!("{v}")` writes it (the shortest digits that read back as
/// `v`, plain notation, no `.0` on whole numbers), with ryu's faster digit generation where it
/// provably agrees.
///
/// Both algorithms pick the shortest string closest to `v`; they differ only on exact ties
/// (ryu rounds half to even, the standard library half up), and a tie needs `v`, or a bound of
/// its rounding interval, to have an exact decimal expansion of at most 18 significant digits.
/// `v = m · 2^e` with `m` odd has at least as many digits as `5^-e`: 19 or more once
/// `e ≤ -26`, as for every prediction of everyday size. Other values take the standard path.
pub(crate) fn push_shortest(out: &mut Vec<u8>, v: f64) {
    use std::io::Write;

    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7FF) as i64;
    let fraction = bits & ((1 << 52) - 1);
    let mantissa = if biased == 0 {
        fraction
    } else {
        fraction | (1 << 52)
    };
    let exponent = if biased == 0 { -1074 } else { biased - 1075 };
    let safe =
        biased != 0x7FF && mantissa != 0 && exponent + i64::from(mantissa.trailing_zeros()) <= -26;
    if !safe {
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{v}");
        return;
    }
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(v).as_bytes();
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    // ryu writes `d.ddd`, `d.ddde-x` or `de-x`: digits, then the power of ten of the last one.
    let (mantissa, power) = match memchr::memchr(b'e', text) {
        Some(e) => (&text[..e], parse_exponent(&text[e + 1..])),
        None => (text, 0),
    };
    let (int, frac) = match memchr::memchr(b'.', mantissa) {
        Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
        None => (mantissa, &b""[..]),
    };
    let frac = if frac == b"0" { &b""[..] } else { frac };
    // At most 17 significant digits, plus ryu's leading `0` of `0.ddd`.
    let mut buf = [0_u8; 24];
    let count = int.len() + frac.len();
    buf[..int.len()].copy_from_slice(int);
    buf[int.len()..count].copy_from_slice(frac);
    let point = power - frac.len() as i64;
    let lead = buf[..count]
        .iter()
        .take_while(|&&d| d == b'0')
        .count()
        .min(count - 1);
    let digits = &buf[lead..count];
    if negative {
        out.push(b'-');
    }
    let n = digits.len() as i64;
    if point >= 0 {
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat_n(b'0', point as usize));
    } else if -point < n {
        let split = (n + point) as usize;
        out.extend_from_slice(&digits[..split]);
        out.push(b'.');
        out.extend_from_slice(&digits[split..]);
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-point - n) as usize));
        out.extend_from_slice(digits);
    }
}

fn parse_exponent(text: &[u8]) -> i64 {
    let (sign, digits) = match text.split_first() {
        Some((b'-', rest)) => (-1, rest),
        _ => (1, text),
    };
    sign * digits
        .iter()
        .fold(0_i64, |acc, d| acc * 10 + i64::from(d - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_equals_display() {
        let check = |v: f64| {
            let mut out = Vec::new();
            push_shortest(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), format!("{v}"), "{v:e}");
        };
        // Ties where ryu and the standard library round differently, and other odd cases.
        for v in [
            -1.1496366673247973e15,
            0.0,
            -0.0,
            1.0,
            -3.0,
            0.1,
            1e-7,
            1.5e-300,
            5e-324,
            1e16,
            1.25e21,
            f64::MAX,
            f64::MIN_POSITIVE,
            -245.36874088036802,
            0.001,
            f64::NAN,
            f64::INFINITY,
        ] {
            check(v);
        }
        let mut z = 0x2545_F491_4F6C_DD1D_u64;
        for _ in 0..300_000 {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            check(f64::from_bits(z));
            // Values of everyday size, with many digits and with few.
            check((z >> 11) as f64 / (1u64 << 53) as f64 * 1000.0 - 500.0);
            check(((z >> 40) as f64 - 8e6) / 64.0);
            check(((z >> 8) as f64) * 0.25);
        }
    }
}
