//! Quantised models: ours (per-tensor affine uint8 weights, bias-corrected f64
//! intercept) and the original Python pipeline's scheme, for comparison.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Model, check_shape, dot, predict_matrix};
use recipe::Recipe;

/// A model whose weights are stored as uint8 codes of one affine [`quant`] tensor.
///
/// The intercept stays `f64` and is re-estimated after the weights are rounded:
/// `b̂ = mean(y − X·ŵ)` over the training rows, which equals `b + x̄ · (w − ŵ)`
/// from the float model's intercept and the training means of the features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantizedModel {
    /// Feature names and how they come from raw columns.
    recipe: Recipe,
    /// The weights, one channel.
    weights: quant::QuantizedTensor,
    /// Bias-corrected intercept.
    intercept: f64,
    /// Training rows of the float model.
    n_train: u64,
    /// Smallest training value of each feature, rounded down to f32 (ranges only drive warnings).
    feature_min: Vec<f32>,
    /// Largest training value of each feature, rounded up to f32.
    feature_max: Vec<f32>,
    /// Analytic worst case of `|ŷ − ŷ_q|` over the box of training feature ranges, rounded up to f32.
    max_deviation_bound: f32,
}

impl QuantizedModel {
    /// Feature names and how they come from raw columns.
    pub fn recipe(&self) -> &Recipe {
        &self.recipe
    }

    /// The weights' uint8 codes and their scale and zero point (one channel).
    pub fn weights(&self) -> &quant::QuantizedTensor {
        &self.weights
    }

    /// The bias-corrected intercept.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// Training rows of the float model.
    pub fn n_train(&self) -> u64 {
        self.n_train
    }

    /// Analytic worst case of `|ŷ − ŷ_q|` over the box of training feature ranges.
    pub fn max_deviation_bound(&self) -> f32 {
        self.max_deviation_bound
    }

    /// Quantise a float model's weights and correct its intercept.
    ///
    /// ```
    /// use linreg::{LinearRegression, QuantizedModel};
    /// use nalgebra::{DMatrix, DVector};
    /// let x = DMatrix::from_row_slice(4, 2, &[0.0, 1.0, 1.0, 0.0, 2.0, 2.0, 3.0, 5.0]);
    /// let y = DVector::from_vec(vec![1.0, 2.5, 5.0, 8.0]);
    /// let model = LinearRegression::default().fit(&x, &y).unwrap();
    /// let q = QuantizedModel::quantize(&model).unwrap();
    /// let (a, b) = (model.predict_row(&[1.0, 1.0]), q.predict_row(&[1.0, 1.0]));
    /// assert!((a - b).abs() <= f64::from(q.max_deviation_bound()) + 1e-12);
    /// ```
    pub fn quantize(model: &Model) -> Result<Self> {
        let weights = quant::encode(model.coefficients(), quant::Scheme::Affine)?;
        let decoded: Vec<f64> = weights.decode();
        let error: Vec<f64> = model
            .coefficients()
            .iter()
            .zip(&decoded)
            .map(|(w, q)| w - q)
            .collect();
        // A model through the origin stays there: its intercept is not a parameter to correct.
        let intercept = if model.fit_intercept() {
            model.intercept() + dot(model.feature_mean(), &error)
        } else {
            0.0
        };
        // ŷ − ŷ_q = Σ (x_j − x̄_j) e_j: a linear function, extreme at the corners of the box.
        let (mut high, mut low) = (0.0, 0.0);
        for (j, e) in error.iter().enumerate() {
            let a = (model.feature_min()[j] - model.feature_mean()[j]) * e;
            let b = (model.feature_max()[j] - model.feature_mean()[j]) * e;
            high += a.max(b);
            low += a.min(b);
        }
        Ok(Self {
            recipe: model.recipe().clone(),
            weights,
            intercept,
            n_train: model.n_train(),
            feature_min: model.feature_min().iter().map(|&v| f32_down(v)).collect(),
            feature_max: model.feature_max().iter().map(|&v| f32_up(v)).collect(),
            max_deviation_bound: f32_up(f64::max(high, -low)),
        })
    }

    /// Training ranges of the features, widened to f64.
    pub fn ranges(&self) -> (Vec<f64>, Vec<f64>) {
        let widen = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect();
        (widen(&self.feature_min), widen(&self.feature_max))
    }

    /// The decoded weights.
    pub fn coefficients(&self) -> Vec<f64> {
        self.weights.decode()
    }

    /// Predict one row of features.
    pub fn predict_row(&self, x: &[f64]) -> f64 {
        dot(x, &self.coefficients()) + self.intercept
    }

    /// Predict every row of `x`.
    pub fn predict(&self, x: &DMatrix<f64>) -> Result<DVector<f64>> {
        predict_matrix(x, &self.coefficients(), self.intercept)
    }

    /// Bytes of parameters: the codes, one scale and zero point, and the f64 intercept.
    pub fn parameter_bytes(&self) -> usize {
        self.weights.parameter_bytes() + 8
    }

    /// Check a value read from outside (a file).
    pub fn validate(&self) -> Result<()> {
        self.weights.validate()?;
        if self.weights.params.len() != 1 {
            return Err(Error::Format(String::from(
                "quantised weights must be one tensor",
            )));
        }
        let (min, max) = self.ranges();
        check_shape(&self.recipe, &self.coefficients(), &min, &max)?;
        if !self.intercept.is_finite() {
            return Err(Error::Format(String::from(
                "quantised model has a non-finite intercept",
            )));
        }
        Ok(())
    }
}

/// The nearest f32 at or below `v`.
fn f32_down(v: f64) -> f32 {
    let r = v as f32;
    if f64::from(r) > v { r.next_down() } else { r }
}

/// The nearest f32 at or above `v`.
fn f32_up(v: f64) -> f32 {
    let r = v as f32;
    if f64::from(r) < v { r.next_up() } else { r }
}

/// The original Python pipeline's quantisation, reproduced bit for bit.
///
/// Each of the nine parameters (weights, then intercept) is cast to `f32` and coded in
/// its own window `p ± 0.05`: `scale = (max − min) / 255`,
/// `q = round_half_even((p − min) / scale)`, all in `f32`; it decodes as `q · scale + min` in `f32`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OriginalScheme {
    /// One code per parameter (weights, then intercept).
    pub codes: Vec<u8>,
    /// Window minimum per parameter.
    pub min: Vec<f32>,
    /// Window scale per parameter.
    pub scale: Vec<f32>,
}

impl OriginalScheme {
    /// Quantise a float model as the original `quantize.py` does.
    pub fn quantize(model: &Model) -> Self {
        let intercept = model.intercept();
        let params = model
            .coefficients()
            .iter()
            .chain(std::iter::once(&intercept))
            .map(|&p| p as f32);
        let (mut codes, mut min, mut scale) = (Vec::new(), Vec::new(), Vec::new());
        for p in params {
            let lo = p - 0.05_f32;
            let hi = p + 0.05_f32;
            let s = (hi - lo) / 255.0_f32;
            codes.push(((p - lo) / s).round_ties_even() as u8);
            min.push(lo);
            scale.push(s);
        }
        Self { codes, min, scale }
    }

    /// The reconstructed parameters, in `f32` as the original computes them.
    pub fn parameters(&self) -> Vec<f32> {
        self.codes
            .iter()
            .zip(self.min.iter().zip(&self.scale))
            .map(|(&q, (&lo, &s))| f32::from(q) * s + lo)
            .collect()
    }

    /// Reconstructed weights (without the intercept), widened to f64.
    pub fn coefficients(&self) -> Vec<f64> {
        let mut p: Vec<f64> = self.parameters().into_iter().map(f64::from).collect();
        p.pop();
        p
    }

    /// Reconstructed intercept, widened to f64.
    pub fn intercept(&self) -> f64 {
        self.parameters().last().map_or(0.0, |&b| f64::from(b))
    }

    /// Predict in f64 from the reconstructed parameters.
    pub fn predict(&self, x: &DMatrix<f64>) -> Result<DVector<f64>> {
        predict_matrix(x, &self.coefficients(), self.intercept())
    }

    /// Bytes of parameters: per parameter one code, an f32 minimum and an f32 scale.
    pub fn parameter_bytes(&self) -> usize {
        self.codes.len() * (1 + 4 + 4)
    }
}
