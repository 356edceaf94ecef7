//! `quant`: uint8 quantisation of tensors, as in ONNX Runtime and PyTorch:
//! `x ≈ scale · (q − zero_point)` with an `f32` scale and a `u8` code.
//!
//! - [`encode`] quantises a whole tensor with one [`Params`];
//!   [`encode_per_channel`] gives each run of values its own.
//! - [`Scheme::Affine`] spreads `[min(x, 0), max(x, 0)]` over the 256 codes;
//!   [`Scheme::Symmetric`] fixes the zero point at 128.
//! - Every value decodes within `scale / 2` (plus the rounding of the element type),
//!   and 0 decodes to exactly 0.
//!
//! The crate knows nothing of models: regression-specific steps live in `linreg`.
//!
//! ```
//! use quant::{encode_per_channel, Scheme};
//! let weights = [0.5_f32, -0.25, 8.0, 4.0];
//! let q = encode_per_channel(&weights, 2, Scheme::Affine).unwrap();
//! assert_eq!(q.params.len(), 2);
//! for (x, y) in weights.iter().zip(q.decode::<f32>()) {
//!     assert!((x - y).abs() as f64 <= q.max_error() + 1e-6);
//! }
//! ```
#![deny(missing_docs)]

mod codec;
mod error;

pub use codec::{Params, QuantizedTensor, Real, Scheme, encode, encode_per_channel};
pub use error::{Error, Result};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decoded values may differ from `x` by `scale / 2`, plus float rounding in f64 and in `T`.
    fn within_bound(x: f64, y: f64, p: &Params, t_eps: f64) -> bool {
        (x - y).abs() <= p.max_error() * (1.0 + 1e-12) + x.abs() * t_eps
    }

    fn assert_bound<T: Real>(values: &[T], q: &QuantizedTensor, t_eps: f64) {
        let decoded: Vec<T> = q.decode();
        let len = q.channel_len();
        for (i, (x, y)) in values.iter().zip(&decoded).enumerate() {
            let p = &q.params[i / len];
            assert!(
                within_bound(x.to_f64(), y.to_f64(), p, t_eps),
                "value {i}: {x:?} decoded as {y:?}, scale {}",
                p.scale
            );
        }
    }

    #[test]
    fn nan_and_infinity_are_typed_errors() {
        let err = encode(&[1.0, f64::NAN], Scheme::Affine).unwrap_err();
        assert!(matches!(err, Error::NonFinite { index: 1, value } if value.is_nan()));
        assert_eq!(err.to_string(), "value at index 1 is not finite (NaN)");
        assert!(matches!(
            encode(&[f64::INFINITY], Scheme::Symmetric),
            Err(Error::NonFinite { index: 0, .. })
        ));
        assert!(matches!(
            encode(&[0.0_f32, f32::NEG_INFINITY], Scheme::Affine),
            Err(Error::NonFinite { index: 1, .. })
        ));
    }

    #[test]
    fn a_range_too_wide_is_named_in_exponent_form() {
        // A weight of 1e199 (a feature of order 1e-100 against a target of order 1e99): its
        // plain decimal has 200 digits.
        let err = encode(&[-5.6e-19, 1e199], Scheme::Affine).unwrap_err();
        assert_eq!(
            err.to_string(),
            "value range -5.6e-19..1e199 is too wide for an f32 scale"
        );
    }

    #[test]
    fn empty_tensor_round_trips() {
        let q = encode::<f64>(&[], Scheme::Affine).unwrap();
        assert!(q.codes.is_empty());
        assert!(q.decode::<f64>().is_empty());
        q.validate().unwrap();
    }

    #[test]
    fn all_zero_is_exact() {
        for scheme in [Scheme::Affine, Scheme::Symmetric] {
            let q = encode(&[0.0_f64; 5], scheme).unwrap();
            assert_eq!(q.decode::<f64>(), vec![0.0; 5]);
        }
    }

    #[test]
    fn constant_and_single_values_are_exact_when_they_fit_an_f32() {
        for c in [3.5_f64, -0.125, 1e-7_f32 as f64, -1234.5] {
            for scheme in [Scheme::Affine, Scheme::Symmetric] {
                for n in [1, 4] {
                    let q = encode(&vec![c; n], scheme).unwrap();
                    assert_eq!(q.decode::<f64>(), vec![c; n], "{c} {scheme:?} n={n}");
                }
            }
        }
        // Not representable in f32: within the f32 rounding of c, far inside scale / 2.
        let q = encode(&[0.1_f64; 3], Scheme::Affine).unwrap();
        assert_bound(&[0.1_f64; 3], &q, 0.0);
    }

    #[test]
    fn bad_channel_layout_is_a_typed_error() {
        assert_eq!(
            encode_per_channel(&[1.0_f64, 2.0, 3.0], 2, Scheme::Affine),
            Err(Error::BadChannels {
                len: 3,
                channel_len: 2
            })
        );
        assert!(encode_per_channel(&[1.0_f64], 0, Scheme::Affine).is_err());
    }

    #[test]
    fn damaged_tensors_fail_validation() {
        let mut q = encode(&[1.0_f64, -2.0], Scheme::Affine).unwrap();
        q.params[0].scale = 0.0;
        assert!(q.validate().is_err());
        q.params.clear();
        assert!(q.validate().is_err());
    }

    #[test]
    fn known_affine_parameters() {
        // Range [-1, 2] widened already includes 0: ideal zero point 85, scale 2/170.
        let p = Params::affine(-1.0, 2.0).unwrap();
        assert_eq!(p.zero_point, 85);
        approx::assert_relative_eq!(f64::from(p.scale), 2.0 / 170.0, max_relative = 1e-7);
        assert_eq!(p.quantize(0.0), 85);
        assert_eq!(p.dequantize(85), 0.0);
        // Positive range: zero point 0, top code reaches the maximum.
        let p = Params::affine(1.0, 255.0).unwrap();
        assert_eq!((p.zero_point, p.scale), (0, 1.0));
        // Symmetric: zero point 128.
        let p = Params::symmetric(-127.0).unwrap();
        assert_eq!((p.zero_point, p.scale), (128, 1.0));
    }

    fn tensor() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(-1e6_f64..1e6, 0..64)
    }

    proptest! {
        #[test]
        fn error_bound_holds_f64(values in tensor(), symmetric in any::<bool>()) {
            let scheme = if symmetric { Scheme::Symmetric } else { Scheme::Affine };
            let q = encode(&values, scheme).unwrap();
            assert_bound(&values, &q, 0.0);
        }

        #[test]
        fn error_bound_holds_f32(values in prop::collection::vec(-1e4_f32..1e4, 0..64)) {
            let q = encode(&values, Scheme::Affine).unwrap();
            assert_bound(&values, &q, f64::from(f32::EPSILON));
        }

        #[test]
        fn decode_then_encode_gives_the_same_codes(values in tensor(), symmetric in any::<bool>()) {
            let scheme = if symmetric { Scheme::Symmetric } else { Scheme::Affine };
            let q = encode(&values, scheme).unwrap();
            let again = q.requantize(&q.decode::<f64>()).unwrap();
            prop_assert_eq!(again, q.codes);
        }

        #[test]
        fn zero_is_exact(mut values in tensor(), at in any::<prop::sample::Index>(), symmetric in any::<bool>()) {
            values.push(0.0);
            let i = at.index(values.len());
            let last = values.len() - 1;
            values.swap(i, last);
            let scheme = if symmetric { Scheme::Symmetric } else { Scheme::Affine };
            let q = encode(&values, scheme).unwrap();
            prop_assert_eq!(q.decode::<f64>()[i], 0.0);
        }

        #[test]
        fn per_channel_bound_never_exceeds_per_tensor(
            channels in 1usize..6,
            len in 1usize..12,
            seed in prop::collection::vec(-1e3_f64..1e3, 72),
        ) {
            let values = &seed[..channels * len];
            let tensor = encode(values, Scheme::Affine).unwrap();
            let per_channel = encode_per_channel(values, len, Scheme::Affine).unwrap();
            assert_bound(values, &per_channel, 0.0);
            for p in &per_channel.params {
                prop_assert!(p.max_error() <= tensor.max_error(), "{} > {}", p.max_error(), tensor.max_error());
            }
        }
    }
}
