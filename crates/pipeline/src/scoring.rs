//! One checked row predictor, for every reader of rows to predict (`predict`, the server):
//! each feature a usable number, the prediction finite, values outside the training ranges
//! counted for the warnings.

use linreg::{Predictor, RangeWarning};

/// Why a row cannot be predicted; each caller names the row its own way (a file's line, a
/// request's row).
#[derive(Debug, Clone, PartialEq)]
pub enum Unscorable {
    /// A feature is NaN, infinite or beyond ±1e100 (`dataset::MAX_MAGNITUDE`).
    Feature {
        /// Its index, in the model's order.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// The prediction is not finite.
    Prediction(f64),
}

/// Rows predicted with one model, checked, with the counts of values outside the training
/// ranges.
///
/// ```
/// use linreg::{AnyModel, LinearRegression, Predictor};
/// use nalgebra::{DMatrix, DVector};
/// use pipeline::{Scoring, Unscorable};
/// let x = DMatrix::from_row_slice(3, 1, &[0.0, 1.0, 2.0]);
/// let y = DVector::from_vec(vec![1.0, 3.0, 5.0]);
/// let predictor = Predictor::new(AnyModel::Float(LinearRegression::new().fit(&x, &y).unwrap()));
/// let mut scoring = Scoring::new(&predictor);
/// assert!((scoring.score(&[1.5]).unwrap() - 4.0).abs() < 1e-12);
/// assert!(matches!(scoring.score(&[f64::NAN]), Err(Unscorable::Feature { index: 0, .. })));
/// scoring.score(&[10.0]).unwrap();
/// assert_eq!(scoring.rows_outside(), 1);
/// assert_eq!(scoring.warnings()[0].rows, 1);
/// ```
#[derive(Debug, Clone)]
pub struct Scoring<'a> {
    predictor: &'a Predictor,
    outside: Vec<u64>,
    rows_outside: u64,
}

impl<'a> Scoring<'a> {
    /// Start scoring rows with `predictor`.
    pub fn new(predictor: &'a Predictor) -> Self {
        Self {
            predictor,
            outside: vec![0; predictor.coefficients().len()],
            rows_outside: 0,
        }
    }

    /// The prediction of one row of the model's features, checked.
    pub fn score(&mut self, features: &[f64]) -> Result<f64, Unscorable> {
        for (index, &value) in features.iter().enumerate() {
            if !dataset::is_usable(value) {
                return Err(Unscorable::Feature { index, value });
            }
        }
        let outside = self.predictor.count_outside(features, &mut self.outside);
        self.rows_outside += u64::from(outside > 0);
        let prediction = self.predictor.predict_row(features);
        if !prediction.is_finite() {
            return Err(Unscorable::Prediction(prediction));
        }
        Ok(prediction)
    }

    /// Add another scoring's counts (of the same model) to these.
    pub fn merge(&mut self, other: &Self) {
        for (total, k) in self.outside.iter_mut().zip(&other.outside) {
            *total += k;
        }
        self.rows_outside += other.rows_outside;
    }

    /// Rows with at least one value outside its training range.
    pub fn rows_outside(&self) -> u64 {
        self.rows_outside
    }

    /// One warning for each feature with values outside its training range.
    pub fn warnings(&self) -> Vec<RangeWarning> {
        self.predictor.range_warnings(&self.outside)
    }
}
