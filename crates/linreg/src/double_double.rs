//! Double-double arithmetic: a value as the unevaluated sum of two `f64`s, `hi + lo` with
//! `|lo| ≤ ulp(hi) / 2`, about 106 significant bits (32 digits).
//!
//! The building blocks are the error-free transformations: `two_sum` (Knuth) gives the exact
//! rounding error of an addition, `two_prod` (Dekker) that of a product. The
//! operations below follow Dekker's and Bailey's classic formulations ("accurate" addition).

use serde::{Deserialize, Serialize};

/// A double-double number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Dd {
    /// The value rounded to an `f64`.
    pub hi: f64,
    /// What rounding left out.
    pub lo: f64,
}

/// `a + b` as `(s, e)` with `s = fl(a + b)` and `s + e = a + b` exactly.
#[inline]
pub fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// `a` as `hi + lo`, each of at most 26 significant bits (Veltkamp), for `|a| < 2^995`.
#[inline]
fn split(a: f64) -> (f64, f64) {
    let c = 134_217_729.0 * a; // 2^27 + 1
    let hi = c - (c - a);
    (hi, a - hi)
}

/// `a · b` as `(p, e)` with `p = fl(a · b)` and `p + e = a · b` exactly (Dekker; barring
/// underflow, and for `|a|, |b| < 2^995`). Dekker's splitting rather than a fused multiply-add:
/// without the FMA instruction in the target (the portable x86-64 baseline), `mul_add` is a
/// call into libm, several times slower than these 17 operations.
#[inline]
pub fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    let ((ah, al), (bh, bl)) = (split(a), split(b));
    (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
}

/// `hi + lo` renormalised, for `|hi| ≥ |lo|`.
#[inline]
fn quick_two_sum(hi: f64, lo: f64) -> Dd {
    let s = hi + lo;
    Dd {
        hi: s,
        lo: lo - (s - hi),
    }
}

impl Dd {
    /// Zero.
    pub const ZERO: Self = Self { hi: 0.0, lo: 0.0 };

    /// An `f64`, exactly.
    #[inline]
    pub const fn from_f64(v: f64) -> Self {
        Self { hi: v, lo: 0.0 }
    }

    /// Both parts, as stored (`hi`, `lo`).
    #[inline]
    pub const fn from_parts(hi: f64, lo: f64) -> Self {
        Self { hi, lo }
    }

    /// The value rounded to an `f64`.
    #[inline]
    pub fn to_f64(self) -> f64 {
        self.hi + self.lo
    }

    /// The exact product of two `f64`s.
    #[inline]
    pub fn product(a: f64, b: f64) -> Self {
        let (p, e) = two_prod(a, b);
        Self { hi: p, lo: e }
    }

    /// `self + other`.
    #[inline]
    pub fn add(self, other: Self) -> Self {
        let (s, e) = two_sum(self.hi, other.hi);
        let (t, f) = two_sum(self.lo, other.lo);
        let r = quick_two_sum(s, e + t);
        quick_two_sum(r.hi, r.lo + f)
    }

    /// `self − other`.
    #[inline]
    pub fn sub(self, other: Self) -> Self {
        self.add(other.neg())
    }

    /// `−self`.
    #[inline]
    pub fn neg(self) -> Self {
        Self {
            hi: -self.hi,
            lo: -self.lo,
        }
    }

    /// `self + v`.
    #[inline]
    pub fn add_f64(self, v: f64) -> Self {
        let (s, e) = two_sum(self.hi, v);
        quick_two_sum(s, e + self.lo)
    }

    /// `self · other`.
    #[inline]
    pub fn mul(self, other: Self) -> Self {
        let (p, e) = two_prod(self.hi, other.hi);
        quick_two_sum(p, e + (self.hi * other.lo + self.lo * other.hi))
    }

    /// `self · v`.
    #[inline]
    pub fn mul_f64(self, v: f64) -> Self {
        let (p, e) = two_prod(self.hi, v);
        quick_two_sum(p, e + self.lo * v)
    }

    /// `self / other`, by one Newton correction of the `f64` quotient.
    #[inline]
    pub fn div(self, other: Self) -> Self {
        let q1 = self.hi / other.hi;
        let r = self.sub(other.mul_f64(q1));
        let q2 = r.hi / other.hi;
        let r = r.sub(other.mul_f64(q2));
        let q3 = r.hi / other.hi;
        quick_two_sum(q1, q2).add_f64(q3)
    }

    /// `√self` (zero for zero), by one Newton step from the `f64` root.
    #[inline]
    pub fn sqrt(self) -> Self {
        if self.hi <= 0.0 {
            return Self::ZERO;
        }
        let root = self.hi.sqrt();
        // root + (self − root²) / (2 root)
        let residual = self.sub(Self::product(root, root));
        Self::from_f64(root).add_f64(residual.hi / (2.0 * root))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_free_transformations_are_exact() {
        let (s, e) = two_sum(1.0, 1e-20);
        assert_eq!((s, e), (1.0, 1e-20));
        let (p, e) = two_prod(1.0 + f64::EPSILON, 1.0 - f64::EPSILON);
        // (1 + ε)(1 − ε) = 1 − ε²: the product rounds to 1, the error is −ε².
        assert_eq!((p, e), (1.0, -f64::EPSILON * f64::EPSILON));
    }

    #[test]
    fn operations_keep_about_32_digits() {
        // 1/3 · 3 = 1, and (1/3)² · 9 = 1, far below an f64's rounding.
        let third = Dd::from_f64(1.0).div(Dd::from_f64(3.0));
        let one = third.mul_f64(3.0).sub(Dd::from_f64(1.0));
        assert!(one.to_f64().abs() < 1e-31, "{one:?}");
        let one = third.mul(third).mul_f64(9.0).sub(Dd::from_f64(1.0));
        assert!(one.to_f64().abs() < 1e-31, "{one:?}");
        // √2 · √2 = 2.
        let root = Dd::from_f64(2.0).sqrt();
        let two = root.mul(root).sub(Dd::from_f64(2.0));
        assert!(two.to_f64().abs() < 1e-30, "{two:?}");
        // A sum whose terms cancel: 1e16 + 1 − 1e16 = 1 exactly.
        let s = Dd::from_f64(1e16).add_f64(1.0).add_f64(-1e16);
        assert_eq!(s.to_f64(), 1.0);
    }
}
