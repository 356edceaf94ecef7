//! Regression metrics with scikit-learn's definitions (unweighted, over the rows given).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, same_len};

/// R², RMSE and MAE of one set of predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Coefficient of determination, `1 − SS_res / SS_tot` (`r2_score`).
    pub r2: f64,
    /// Root mean squared error (`root_mean_squared_error`).
    pub rmse: f64,
    /// Mean absolute error (`mean_absolute_error`).
    pub mae: f64,
}

impl Metrics {
    /// Compare predictions with the truth.
    ///
    /// As `r2_score` does, a constant truth gives R² 1 for a perfect prediction and 0 otherwise,
    /// and a single row NaN (R² is not defined for it; scikit-learn warns and returns NaN).
    pub fn compute(truth: &[f64], predicted: &[f64]) -> Result<Self> {
        Self::compute_weighted(truth, predicted, None)
    }

    /// [`compute`](Self::compute) with sample weights, as scikit-learn's metrics take
    /// `sample_weight`: each row's squared and absolute error, and its deviation from the
    /// weighted mean, count with its weight; RMSE and MAE divide by the sum of the weights.
    pub fn compute_weighted(
        truth: &[f64],
        predicted: &[f64],
        weights: Option<&[f64]>,
    ) -> Result<Self> {
        if truth.len() != predicted.len() || truth.is_empty() {
            return Err(Error::Shape {
                what: "predictions for the targets",
                expected: truth.len().max(1),
                got: predicted.len(),
            });
        }
        same_len(
            "weights for the targets",
            truth.len(),
            weights.map_or(truth.len(), <[f64]>::len),
        )?;
        let weight = |i: usize| weights.map_or(1.0, |w| w[i]);
        let n: f64 = (0..truth.len()).map(weight).sum();
        if n.is_nan() || n <= 0.0 {
            return Err(Error::Shape {
                what: "rows of positive weight",
                expected: 1,
                got: 0,
            });
        }
        let mean = truth
            .iter()
            .enumerate()
            .map(|(i, t)| weight(i) * t)
            .sum::<f64>()
            / n;
        let (mut ss_res, mut ss_tot, mut abs) = (0.0, 0.0, 0.0);
        for (i, (t, p)) in truth.iter().zip(predicted).enumerate() {
            let w = weight(i);
            ss_res += w * (t - p) * (t - p);
            ss_tot += w * (t - mean) * (t - mean);
            abs += w * (t - p).abs();
        }
        let r2 = match (truth.len() < 2, ss_tot == 0.0, ss_res == 0.0) {
            (true, _, _) => f64::NAN,
            (false, false, _) => 1.0 - ss_res / ss_tot,
            (false, true, true) => 1.0,
            (false, true, false) => 0.0,
        };
        Ok(Self {
            r2,
            rmse: (ss_res / n).sqrt(),
            mae: abs / n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn one_row_has_no_r2_as_in_scikit_learn() {
        // r2_score([1.0], [2.0]) is nan, with an UndefinedMetricWarning; RMSE and MAE exist.
        let m = Metrics::compute(&[1.0], &[2.0]).unwrap();
        assert!(m.r2.is_nan());
        assert_eq!((m.rmse, m.mae), (1.0, 1.0));
        let mut stats = crate::SufficientStats::new(1).unwrap();
        stats.push(&[3.0], 1.0, 1.0).unwrap();
        let (r2, rmse) = stats.r2_rmse(&[0.0], 2.0).unwrap();
        assert!(r2.is_nan());
        assert_eq!(rmse, 1.0);
    }

    #[test]
    fn matches_hand_computed_values() {
        let m = Metrics::compute(&[3.0, -0.5, 2.0, 7.0], &[2.5, 0.0, 2.0, 8.0]).unwrap();
        // scikit-learn's r2_score docstring example: 0.948...
        assert_relative_eq!(m.r2, 0.9486081370449679, max_relative = 1e-12);
        assert_relative_eq!(m.rmse, (1.5_f64 / 4.0).sqrt(), max_relative = 1e-12);
        assert_relative_eq!(m.mae, 0.5, max_relative = 1e-12);
    }

    #[test]
    fn empty_or_mismatched_is_an_error() {
        assert!(Metrics::compute(&[], &[]).is_err());
        assert!(Metrics::compute(&[1.0], &[1.0, 2.0]).is_err());
    }
}
