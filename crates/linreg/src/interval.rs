//! Prediction intervals, as statsmodels' `get_prediction(X).summary_frame(alpha)` gives them,
//! from what a least-squares model file carries: no training rows, no statistics file.
//!
//! With `σ²` the residual variance, `W` the total weight, `x̄` the (weighted) training means
//! and `G` the Gram matrix the fit solved (co-moments of the centred features with an
//! intercept, of the raw ones without), the variance of the fitted mean at `x` is
//!
//! ```text
//! se²_mean = σ² (1/W + (x − x̄)ᵀ G⁻¹ (x − x̄))    with an intercept
//! se²_mean = σ² xᵀ G⁻¹ x                         without
//! se²_obs  = se²_mean + σ²                       (a new row of weight 1)
//! ```
//!
//! the algebraic identity of statsmodels' `x̃ᵀ (X̃ᵀWX̃)⁻¹ x̃ σ²` (`x̃` with the constant). The
//! file keeps the triangular factor of the scaled inverse that the solve gives for free: with
//! `L` the Cholesky factor of the scaled Gram matrix (the one the fit solved, in double-double)
//! and `D` the columns' norms, `M = L⁻¹ D⁻¹` has `G⁻¹ = Mᵀ M`, so the quadratic form is the sum
//! of squares `‖M (x − x̄)‖²`: never negative, and centred, so no cancellation against the
//! intercept's large variance. The intervals are `ŷ ± t·se`, `t` the `1 − α/2` quantile of
//! Student's t with the residual degrees of freedom.

use serde::{Deserialize, Serialize};
use statrs::distribution::StudentsT;

use crate::error::{Error, Result};
use crate::residual::{residual_sum_of_squares, upper_quantile};
use crate::sufficient_stats::SufficientStats;

/// The names of the interval columns, in the order [`Interval::values`] gives them.
pub const INTERVAL_COLUMNS: [&str; 4] = [
    "mean_ci_lower",
    "mean_ci_upper",
    "obs_ci_lower",
    "obs_ci_upper",
];

/// What a least-squares model keeps for prediction intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Covariance {
    /// `M = L⁻¹ D⁻¹`, lower triangular, packed by rows (`M₀₀, M₁₀, M₁₁, M₂₀, …`): `L` the
    /// Cholesky factor of the scaled Gram matrix, `D` the columns' norms; `G⁻¹ = Mᵀ M`.
    factor: Vec<f64>,
    /// The residual variance `σ²` (statsmodels' `scale`).
    scale: f64,
    /// Residual degrees of freedom: rows − parameters.
    df_resid: f64,
    /// `1/W` with an intercept, 0 without.
    inverse_weight: f64,
}

impl Covariance {
    /// The covariance of a least-squares fit with `coefficients` (and an intercept or not) on
    /// `stats`, from the solve's `inverse_factor`; `None` when it has no residual degree of
    /// freedom.
    pub(crate) fn of_fit(
        stats: &SufficientStats,
        coefficients: &[f64],
        fit_intercept: bool,
        inverse_factor: Vec<f64>,
    ) -> Option<Self> {
        let p = stats.n_features();
        let k = p + usize::from(fit_intercept);
        let df_resid = stats.rows() as f64 - k as f64;
        if df_resid <= 0.0 {
            return None;
        }
        let ssr = residual_sum_of_squares(stats, coefficients, fit_intercept);
        let inverse_weight = if fit_intercept {
            1.0 / stats.weight_dd().to_f64()
        } else {
            0.0
        };
        Some(Self {
            factor: inverse_factor,
            scale: ssr / df_resid,
            df_resid,
            inverse_weight,
        })
    }

    /// The residual variance `σ²`.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Residual degrees of freedom.
    pub fn df_resid(&self) -> f64 {
        self.df_resid
    }

    /// Features covered.
    pub fn n_features(&self) -> usize {
        // p (p + 1) / 2 entries
        let n = self.factor.len();
        ((((8 * n + 1) as f64).sqrt() as usize) - 1) / 2
    }

    /// Check a value read from a file against the model's `p` features.
    pub(crate) fn validate(&self, p: usize) -> Result<()> {
        if self.factor.len() != p * (p + 1) / 2 {
            return Err(Error::Format(String::from(
                "model's covariance has a wrong number of entries",
            )));
        }
        let finite = self.factor.iter().all(|v| v.is_finite())
            && self.scale.is_finite()
            && self.scale >= 0.0
            && self.df_resid.is_finite()
            && self.df_resid > 0.0
            && self.inverse_weight.is_finite()
            && self.inverse_weight >= 0.0;
        if !finite {
            return Err(Error::Format(String::from(
                "model's covariance holds a negative or non-finite number",
            )));
        }
        Ok(())
    }

    /// Everything the intervals of `level` (e.g. 0.95) need, around the training means
    /// `centre` (ignored without an intercept, where the centre is the origin).
    pub fn bands(&self, centre: &[f64], level: f64) -> Result<Bands> {
        check_level(level)?;
        let t = StudentsT::new(0.0, 1.0, self.df_resid)
            .map_err(|e| Error::Distribution(e.to_string()))?;
        let p = self.n_features();
        let centre = if self.inverse_weight > 0.0 {
            centre.to_vec()
        } else {
            vec![0.0; p]
        };
        Ok(Bands {
            covariance: self.clone(),
            centre,
            multiplier: upper_quantile(&t, (1.0 - level) / 2.0),
            level,
            p,
        })
    }
}

/// Refuse a level outside (0, 1), before anything else is said about intervals.
pub(crate) fn check_level(level: f64) -> Result<()> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(Error::Level(level))
    }
}

/// A model's intervals of one level, ready for rows: [`Bands::interval`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    covariance: Covariance,
    centre: Vec<f64>,
    /// Student's t quantile of the level.
    multiplier: f64,
    level: f64,
    p: usize,
}

/// The intervals around one prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower end of the fitted mean's interval.
    pub mean_ci_lower: f64,
    /// Upper end of the fitted mean's interval.
    pub mean_ci_upper: f64,
    /// Lower end of a new observation's interval.
    pub obs_ci_lower: f64,
    /// Upper end of a new observation's interval.
    pub obs_ci_upper: f64,
}

impl Interval {
    /// The four ends, in [`INTERVAL_COLUMNS`]' order.
    pub fn values(&self) -> [f64; 4] {
        [
            self.mean_ci_lower,
            self.mean_ci_upper,
            self.obs_ci_lower,
            self.obs_ci_upper,
        ]
    }
}

impl Bands {
    /// The level, e.g. 0.95.
    pub fn level(&self) -> f64 {
        self.level
    }

    /// The standard error of the fitted mean at the features `x`.
    pub fn mean_se(&self, x: &[f64]) -> f64 {
        let c = &self.covariance;
        // ‖Lᵀ d‖², d = x − x̄: column j of L is row j of Lᵀ.
        // ‖M d‖², d = x − x̄, M lower triangular by rows.
        let mut quadratic = 0.0;
        let mut start = 0;
        for i in 0..self.p {
            let row = &c.factor[start..=start + i];
            let z: f64 = row
                .iter()
                .zip(x.iter().zip(&self.centre))
                .map(|(m, (v, centre))| m * (v - centre))
                .sum();
            quadratic += z * z;
            start += i + 1;
        }
        (c.scale * (c.inverse_weight + quadratic)).sqrt()
    }

    /// The intervals around the prediction `prediction` of the features `x`.
    pub fn interval(&self, x: &[f64], prediction: f64) -> Interval {
        let mean_se = self.mean_se(x);
        let obs_se = (mean_se * mean_se + self.covariance.scale).sqrt();
        let (m, o) = (self.multiplier * mean_se, self.multiplier * obs_se);
        Interval {
            mean_ci_lower: prediction - m,
            mean_ci_upper: prediction + m,
            obs_ci_lower: prediction - o,
            obs_ci_upper: prediction + o,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LinearRegression;
    use nalgebra::{DMatrix, DVector};

    /// The intervals against the textbook formula with the full `(X̃ᵀX̃)⁻¹` (constant column
    /// included) computed by nalgebra's own inverse.
    #[test]
    fn the_bands_equal_the_textbook_formula_with_and_without_an_intercept() {
        let x = DMatrix::from_row_slice(
            7,
            2,
            &[
                1.0, 2.0, 2.0, 1.0, 3.0, 5.0, 4.0, 3.0, 5.0, 4.0, 6.0, 7.0, 7.5, 5.0,
            ],
        );
        let y = DVector::from_vec(vec![3.1, 2.9, 8.2, 6.8, 9.1, 12.5, 12.0]);
        for intercept in [true, false] {
            let model = LinearRegression::new()
                .fit_intercept(intercept)
                .fit(&x, &y)
                .unwrap();
            let k = 2 + usize::from(intercept);
            let design = DMatrix::from_fn(7, k, |i, j| match (intercept, j) {
                (true, 0) => 1.0,
                (true, j) => x[(i, j - 1)],
                (false, j) => x[(i, j)],
            });
            let fitted = model.predict(&x).unwrap();
            let ssr: f64 = (&y - &fitted).iter().map(|e| e * e).sum();
            let scale = ssr / (7 - k) as f64;
            let inverse = (design.transpose() * &design).try_inverse().unwrap();
            let bands = model.bands(0.9).unwrap();
            // t(0.95; 4 or 5 df), scipy.stats.t.ppf
            let t = if intercept {
                2.1318467863266495
            } else {
                2.0150483733330233
            };
            for row in [[2.5, 3.0], [10.0, -1.0], [0.0, 0.0]] {
                let xt = DVector::from_iterator(k, intercept.then_some(1.0).into_iter().chain(row));
                let se = (scale * (xt.transpose() * &inverse * &xt)[(0, 0)]).sqrt();
                let obs = (se * se + scale).sqrt();
                let p = model.predict_row(&row);
                let got = bands.interval(&row, p);
                let want = [p - t * se, p + t * se, p - t * obs, p + t * obs];
                for (g, w) in got.values().iter().zip(want) {
                    approx::assert_relative_eq!(*g, w, max_relative = 1e-12);
                }
            }
        }
    }

    #[test]
    fn a_level_outside_zero_to_one_is_refused() {
        let x = DMatrix::from_row_slice(4, 1, &[0.0, 1.0, 2.0, 3.0]);
        let y = DVector::from_vec(vec![1.0, 3.2, 4.9, 7.0]);
        let model = LinearRegression::new().fit(&x, &y).unwrap();
        for bad in [0.0, 1.0, -0.5, 95.0, f64::NAN] {
            let e = model.bands(bad).unwrap_err();
            assert!(matches!(e, Error::Level(_)), "{bad}: {e}");
        }
    }
}
