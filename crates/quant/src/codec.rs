//! Affine and symmetric uint8 codecs: `x ≈ scale · (q − zero_point)`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A floating-point element type the codec accepts (`f32` or `f64`).
///
/// All arithmetic runs in `f64`; decoded values are rounded to `Self` at the end.
pub trait Real: Copy + PartialOrd + std::fmt::Debug {
    /// Widen to `f64` exactly.
    fn to_f64(self) -> f64;
    /// Round an `f64` to `Self`.
    fn from_f64(value: f64) -> Self;
}

impl Real for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(value: f64) -> Self {
        value
    }
}

impl Real for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f64(value: f64) -> Self {
        value as f32
    }
}

/// How a range is mapped onto the 256 codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scheme {
    /// Asymmetric: the range `[min(x, 0), max(x, 0)]` spread over all codes.
    Affine,
    /// Symmetric around zero: `zero_point` is 128, the range `[-max|x|, max|x|]`.
    Symmetric,
}

/// The parameters of one quantised channel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Step between neighbouring codes; finite and positive.
    pub scale: f32,
    /// The code that decodes to exactly 0.
    pub zero_point: u8,
}

/// Smallest `f32` that is not below `value` (for a non-negative finite `value`).
fn f32_at_least(value: f64) -> f32 {
    let rounded = value as f32;
    if f64::from(rounded) < value {
        rounded.next_up()
    } else {
        rounded
    }
}

fn checked_scale(scale: f64, lo: f64, hi: f64) -> Result<f32> {
    let scale = f32_at_least(scale);
    if scale.is_finite() && scale > 0.0 {
        Ok(scale)
    } else {
        Err(Error::RangeTooWide { lo, hi })
    }
}

impl Params {
    /// Parameters for an affine code of the range `lo..=hi`, widened to include 0.
    ///
    /// Among the integer zero points that keep the whole range representable,
    /// the one giving the smallest scale is chosen, so that every value in the
    /// range decodes within `scale / 2` and a narrower range never gets a larger scale.
    pub fn affine(lo: f64, hi: f64) -> Result<Self> {
        let (lo, hi) = (lo.min(0.0), hi.max(0.0));
        if !(lo.is_finite() && hi.is_finite()) {
            return Err(Error::RangeTooWide { lo, hi });
        }
        if lo == hi {
            return Ok(Self::UNIT);
        }
        // Any zero point in z_min..=z_max can represent both ends with some scale.
        let z_min = if lo < 0.0 { 1.0 } else { 0.0 };
        let z_max = if hi > 0.0 { 254.0 } else { 255.0 };
        let scale_for = |z: f64| {
            let up = if hi > 0.0 { hi / (255.0 - z) } else { 0.0 };
            let down = if lo < 0.0 { -lo / z } else { 0.0 };
            up.max(down)
        };
        let ideal = 255.0 * -lo / (hi - lo);
        let (a, b) = (
            ideal.floor().clamp(z_min, z_max),
            ideal.ceil().clamp(z_min, z_max),
        );
        let z = if scale_for(a) <= scale_for(b) { a } else { b };
        Ok(Self {
            scale: checked_scale(scale_for(z), lo, hi)?,
            zero_point: z as u8,
        })
    }

    /// Parameters for a symmetric code of `-max_abs..=max_abs` (zero point 128).
    pub fn symmetric(max_abs: f64) -> Result<Self> {
        let max_abs = max_abs.abs();
        if !max_abs.is_finite() {
            return Err(Error::RangeTooWide {
                lo: -max_abs,
                hi: max_abs,
            });
        }
        if max_abs == 0.0 {
            return Ok(Self {
                scale: 1.0,
                zero_point: 128,
            });
        }
        Ok(Self {
            scale: checked_scale(max_abs / 127.0, -max_abs, max_abs)?,
            zero_point: 128,
        })
    }

    /// Parameters used where every value is 0 (any positive scale decodes 0 exactly).
    const UNIT: Self = Self {
        scale: 1.0,
        zero_point: 0,
    };

    /// The code nearest to `value` (ties away from zero), clamped to `0..=255`.
    pub fn quantize(&self, value: f64) -> u8 {
        let q = (value / f64::from(self.scale)).round() + f64::from(self.zero_point);
        q.clamp(0.0, 255.0) as u8
    }

    /// The value a code stands for.
    pub fn dequantize(&self, code: u8) -> f64 {
        f64::from(self.scale) * (f64::from(code) - f64::from(self.zero_point))
    }

    /// The worst rounding error for a value inside the representable range: `scale / 2`.
    pub fn max_error(&self) -> f64 {
        f64::from(self.scale) / 2.0
    }

    /// The representable range `scale · (0 − zp) ..= scale · (255 − zp)`.
    pub fn range(&self) -> (f64, f64) {
        (self.dequantize(0), self.dequantize(255))
    }

    fn check(&self) -> Result<()> {
        if self.scale.is_finite() && self.scale > 0.0 {
            Ok(())
        } else {
            Err(Error::Inconsistent("scale must be finite and positive"))
        }
    }
}

/// A tensor stored as uint8 codes, one [`Params`] per channel.
///
/// Channels are consecutive runs of `codes.len() / params.len()` values;
/// a per-tensor code is the case of one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantizedTensor {
    /// Parameters of each channel, in order.
    pub params: Vec<Params>,
    /// One code per value.
    pub codes: Vec<u8>,
}

fn check_finite<T: Real>(values: &[T]) -> Result<()> {
    match values.iter().position(|v| !v.to_f64().is_finite()) {
        Some(index) => Err(Error::NonFinite {
            index,
            value: values[index].to_f64(),
        }),
        None => Ok(()),
    }
}

/// Parameters of one channel. `whole_tensor_constant`: every value of the whole tensor is this channel's constant.
fn channel_params<T: Real>(
    values: &[T],
    scheme: Scheme,
    whole_tensor_constant: bool,
) -> Result<Params> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        let v = v.to_f64();
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if values.is_empty() {
        return Ok(Params::UNIT);
    }
    if whole_tensor_constant && lo != 0.0 {
        // A constant tensor: one step of exactly |c| (when c fits an f32) decodes c exactly.
        // Only for the whole tensor: a constant channel beside others keeps the general
        // scale, so that no channel's bound exceeds the bound of the tensor it belongs to.
        let scale = lo.abs() as f32;
        if scale.is_finite() && scale > 0.0 {
            let zero_point = match (scheme, lo > 0.0) {
                (Scheme::Symmetric, _) => 128,
                (Scheme::Affine, true) => 0,
                (Scheme::Affine, false) => 255,
            };
            return Ok(Params { scale, zero_point });
        }
    }
    match scheme {
        Scheme::Affine => Params::affine(lo, hi),
        Scheme::Symmetric => Params::symmetric(lo.abs().max(hi.abs())),
    }
}

/// Quantise `values` with one set of parameters for the whole tensor.
///
/// ```
/// use quant::{encode, Scheme};
/// let q = encode(&[-1.0_f64, 0.0, 0.5, 2.0], Scheme::Affine).unwrap();
/// let back: Vec<f64> = q.decode();
/// assert_eq!(back[1], 0.0); // zero is always exact
/// assert!((back[3] - 2.0).abs() <= q.max_error());
/// ```
pub fn encode<T: Real>(values: &[T], scheme: Scheme) -> Result<QuantizedTensor> {
    let channel_len = values.len().max(1);
    encode_per_channel(values, channel_len, scheme)
}

/// Quantise `values` in channels of `channel_len` consecutive values, each with its own parameters.
pub fn encode_per_channel<T: Real>(
    values: &[T],
    channel_len: usize,
    scheme: Scheme,
) -> Result<QuantizedTensor> {
    if channel_len == 0 || !values.len().is_multiple_of(channel_len) {
        return Err(Error::BadChannels {
            len: values.len(),
            channel_len,
        });
    }
    check_finite(values)?;
    let constant = values.windows(2).all(|w| w[0].to_f64() == w[1].to_f64());
    let params = if values.is_empty() {
        vec![Params::UNIT]
    } else {
        values
            .chunks(channel_len)
            .map(|c| channel_params(c, scheme, constant))
            .collect::<Result<Vec<_>>>()?
    };
    let codes = quantize_channels(values, channel_len, &params);
    Ok(QuantizedTensor { params, codes })
}

fn quantize_channels<T: Real>(values: &[T], channel_len: usize, params: &[Params]) -> Vec<u8> {
    values
        .chunks(channel_len.max(1))
        .zip(params)
        .flat_map(|(vs, p)| vs.iter().map(|v| p.quantize(v.to_f64())))
        .collect()
}

impl QuantizedTensor {
    /// Number of values in each channel.
    pub fn channel_len(&self) -> usize {
        match self.params.len() {
            0 | 1 => self.codes.len().max(1),
            n => self.codes.len() / n,
        }
    }

    /// Check that a value read from outside (a file) is well formed.
    pub fn validate(&self) -> Result<()> {
        if self.params.is_empty() {
            return Err(Error::Inconsistent("no channel parameters"));
        }
        if !self.codes.len().is_multiple_of(self.params.len()) {
            return Err(Error::Inconsistent(
                "code count is not a multiple of the channel count",
            ));
        }
        self.params.iter().try_for_each(Params::check)
    }

    /// Decode every code back to a value.
    pub fn decode<T: Real>(&self) -> Vec<T> {
        let len = self.channel_len();
        self.codes
            .chunks(len)
            .zip(&self.params)
            .flat_map(|(codes, p)| codes.iter().map(|&q| T::from_f64(p.dequantize(q))))
            .collect()
    }

    /// Codes for `values` under this tensor's parameters (same length and channel layout).
    pub fn requantize<T: Real>(&self, values: &[T]) -> Result<Vec<u8>> {
        check_finite(values)?;
        if values.len() != self.codes.len() {
            return Err(Error::BadChannels {
                len: values.len(),
                channel_len: self.channel_len(),
            });
        }
        Ok(quantize_channels(values, self.channel_len(), &self.params))
    }

    /// The largest rounding error any value of the tensor can have: the largest `scale / 2`.
    pub fn max_error(&self) -> f64 {
        self.params
            .iter()
            .map(Params::max_error)
            .fold(0.0, f64::max)
    }

    /// Bytes of parameters this code needs: one per value plus five (f32 scale, u8 zero point) per channel.
    pub fn parameter_bytes(&self) -> usize {
        self.codes.len() + self.params.len() * 5
    }
}
