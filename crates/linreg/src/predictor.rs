//! Prediction with a model of either kind: weights decoded once, rows predicted without
//! allocating, ranges checked into structured warnings.

use nalgebra::{DMatrix, DVector};

use crate::drift::TrainingDistributions;
use crate::envelope::{self, Kind};
use crate::error::{Error, Result};
use crate::interval::{Bands, Covariance};
use crate::model::{Model, dot, predict_matrix};
use crate::quantized::QuantizedModel;
use recipe::Recipe;

/// A fitted model of either kind.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyModel {
    /// The float model.
    Float(Model),
    /// The quantised model.
    Quantized(QuantizedModel),
}

/// A model ready to predict: its weights (decoded once, for a quantised model), intercept and
/// training ranges, next to the model itself.
///
/// ```
/// use linreg::{AnyModel, LinearRegression, Predictor};
/// use nalgebra::{DMatrix, DVector};
/// let x = DMatrix::from_row_slice(4, 1, &[0.0, 1.0, 2.0, 3.0]);
/// let y = DVector::from_vec(vec![1.0, 3.0, 5.0, 7.0]);
/// let model = LinearRegression::default().fit(&x, &y).unwrap();
/// let predictor = Predictor::new(AnyModel::Float(model));
/// assert!((predictor.predict_row(&[10.0]) - 21.0).abs() < 1e-9);
/// let mut outside = vec![0; 1];
/// predictor.count_outside(&[10.0], &mut outside);
/// assert_eq!(predictor.range_warnings(&outside)[0].rows, 1);
/// ```
#[derive(Debug, Clone)]
pub struct Predictor {
    model: AnyModel,
    weights: Vec<f64>,
    intercept: f64,
    min: Vec<f64>,
    max: Vec<f64>,
    /// The covariance a quantised model borrows from the float model it was quantised from,
    /// and that model's training means; or why it has none.
    borrowed: std::result::Result<(Covariance, Vec<f64>), String>,
    /// The training distributions of a quantised model's float model, borrowed with its
    /// covariance (its features' and predictions' are the quantised model's too, near enough
    /// for drift: their predictions differ by at most the quantisation's bound).
    borrowed_distributions: Option<std::sync::Arc<TrainingDistributions>>,
}

/// Rows of a batch that had a feature outside its training range (they are predicted anyway).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeWarning {
    /// The feature.
    pub feature: String,
    /// How many rows.
    pub rows: u64,
    /// Its smallest training value.
    pub min: f64,
    /// Its largest training value.
    pub max: f64,
}

impl std::fmt::Display for RangeWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} row(s) have {} outside its training range [{}, {}]",
            self.rows, self.feature, self.min, self.max
        )
    }
}

impl Predictor {
    /// Get a model ready to predict.
    pub fn new(model: AnyModel) -> Self {
        let (weights, intercept, (min, max)) = match &model {
            AnyModel::Float(m) => (
                m.coefficients().to_vec(),
                m.intercept(),
                (m.feature_min().to_vec(), m.feature_max().to_vec()),
            ),
            AnyModel::Quantized(q) => (q.coefficients(), q.intercept(), q.ranges()),
        };
        Self {
            model,
            weights,
            intercept,
            min,
            max,
            borrowed: Err(String::from(
                "a quantised model carries no covariance of its own: its intervals reuse the float model it was quantised from, which was not found",
            )),
            borrowed_distributions: None,
        }
    }

    /// The training distributions drift is measured against: a float model's own, or those a
    /// quantised model borrowed with [`borrow_covariance`](Self::borrow_covariance).
    pub fn distributions(&self) -> Option<&TrainingDistributions> {
        match &self.model {
            AnyModel::Float(m) => m.distributions(),
            AnyModel::Quantized(_) => self.borrowed_distributions.as_deref(),
        }
    }

    /// Give a quantised model the covariance of `float`, the model it was quantised from
    /// (checked: quantising `float` again gives it exactly), for [`bands`](Self::bands), and its
    /// training distributions, for drift; its intervals are then the float model's, around the
    /// quantised predictions. A float
    /// model's own covariance is kept.
    pub fn borrow_covariance(&mut self, float: &Model) -> Result<()> {
        let AnyModel::Quantized(q) = &self.model else {
            return Ok(());
        };
        let same = QuantizedModel::quantize(float)? == *q;
        self.borrowed_distributions = float
            .distributions()
            .filter(|_| same)
            .map(|d| std::sync::Arc::new(d.clone()));
        self.borrowed = if !same {
            Err(String::from(
                "the float model found is not the one this quantised model was quantised from, so its covariance does not apply",
            ))
        } else {
            match float.covariance() {
                Some(c) => Ok((c.clone(), float.feature_mean().to_vec())),
                None => Err(float.why_no_covariance()),
            }
        };
        self.borrowed
            .as_ref()
            .map(|_| ())
            .map_err(|why| Error::NoCovariance(why.clone()))
    }

    /// The prediction intervals of `level` (e.g. 0.95), or why there are none.
    pub fn bands(&self, level: f64) -> Result<Bands> {
        crate::interval::check_level(level)?;
        match (&self.model, &self.borrowed) {
            (AnyModel::Float(m), _) => m.bands(level),
            (AnyModel::Quantized(_), Ok((covariance, centre))) => covariance.bands(centre, level),
            (AnyModel::Quantized(_), Err(why)) => Err(Error::NoCovariance(why.clone())),
        }
    }

    /// Decode a model file of either kind, as its header says.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let model = match envelope::decode::<Model>(bytes) {
            Ok(m) => AnyModel::Float(m),
            Err(Error::WrongKind { found, .. }) if found == Kind::Quantized.name() => {
                AnyModel::Quantized(envelope::decode(bytes)?)
            }
            Err(e) => return Err(e),
        };
        Ok(Self::new(model))
    }

    /// The model behind it.
    pub fn model(&self) -> &AnyModel {
        &self.model
    }

    /// `"float"` or `"quantised"`.
    pub fn kind(&self) -> &'static str {
        match self.model {
            AnyModel::Float(_) => "float",
            AnyModel::Quantized(_) => "quantised",
        }
    }

    /// Feature names and derivation.
    pub fn recipe(&self) -> &Recipe {
        match &self.model {
            AnyModel::Float(m) => m.recipe(),
            AnyModel::Quantized(q) => q.recipe(),
        }
    }

    /// The weights, decoded.
    pub fn coefficients(&self) -> &[f64] {
        &self.weights
    }

    /// The constant term.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// The smallest and largest training value of each feature.
    pub fn ranges(&self) -> (&[f64], &[f64]) {
        (&self.min, &self.max)
    }

    /// Predict one row of features; allocates nothing.
    pub fn predict_row(&self, x: &[f64]) -> f64 {
        dot(x, &self.weights) + self.intercept
    }

    /// Predict every row of `x`.
    pub fn predict(&self, x: &DMatrix<f64>) -> Result<DVector<f64>> {
        predict_matrix(x, &self.weights, self.intercept)
    }

    /// Count, feature by feature, whether this row lies outside the training ranges; returns
    /// how many of its values did (a row out of range when it is not 0).
    pub fn count_outside(&self, x: &[f64], counts: &mut [u64]) -> usize {
        let mut outside = 0;
        for (((&v, lo), hi), n) in x.iter().zip(&self.min).zip(&self.max).zip(counts) {
            if v < *lo || v > *hi {
                *n += 1;
                outside += 1;
            }
        }
        outside
    }

    /// The warnings that counts from [`count_outside`](Self::count_outside) amount to.
    pub fn range_warnings(&self, counts: &[u64]) -> Vec<RangeWarning> {
        self.recipe()
            .feature_names()
            .into_iter()
            .zip(counts)
            .enumerate()
            .filter(|(_, (_, n))| **n > 0)
            .map(|(j, (feature, &rows))| RangeWarning {
                feature,
                rows,
                min: self.min[j],
                max: self.max[j],
            })
            .collect()
    }
}
