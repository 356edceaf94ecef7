//! Inference from the sufficient statistics: the covariance of the estimates, their standard
//! errors, t statistics, p-values and confidence intervals, and the fit's R², adjusted R², F
//! test, log-likelihood, AIC and BIC, as statsmodels' `OLS` (`WLS` with weights) reports them,
//! with no pass over the data.
//!
//! With `w` the weights (1 without), `W = Σw`, `n` the rows and `G` the Gram matrix the fit
//! solved (weighted co-moments of the centred features with an intercept, of the raw ones
//! without):
//!
//! - the residual sum of squares `SSR = Σ w (y − ŷ)²` is `Syy − 2 bᵀSxy + bᵀ G b`, in
//!   double-double from the co-moments (exact for the coefficients given, no cancellation left
//!   in `f64`); the scale is `σ² = SSR / (n − k)`, `k` the parameters;
//! - the slopes' covariance is `σ² G⁻¹`; the intercept's variance `σ² (1/W + x̄ᵀ G⁻¹ x̄)`, its
//!   covariance with the slopes `−σ² G⁻¹ x̄`;
//! - R² is centred with an intercept and uncentred (`1 − SSR / Σ w y²`) without, as statsmodels
//!   reports it (scikit-learn's `r2_score` is centred either way);
//! - the log-likelihood is the Gaussian one at the estimates, plus `½ Σ ln w` with weights
//!   (statsmodels' `WLS`), a sum the statistics keep; statistics from files written before they
//!   kept it give none (nor AIC, BIC) for a weighted fit.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, FisherSnedecor, StudentsT};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::normal_equations::gram_inverse;
use crate::residual::{residual_sum_of_squares, upper_quantile};
use crate::sufficient_stats::SufficientStats;

/// One estimate's row of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The feature, or `const` for the intercept.
    pub name: String,
    /// The coefficient.
    pub coef: f64,
    /// Its standard error.
    pub std_err: f64,
    /// coef / std_err.
    pub t: f64,
    /// Two-sided p-value of t with the residual degrees of freedom.
    pub p_value: f64,
    /// Lower end of the (1 − alpha) confidence interval.
    pub ci_lower: f64,
    /// Upper end.
    pub ci_upper: f64,
}

/// The inference statistics of a fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inference {
    /// The estimates, the intercept (`const`) first when fitted, as statsmodels orders
    /// `add_constant`'s column.
    pub estimates: Vec<Estimate>,
    /// The confidence intervals' alpha.
    pub alpha: f64,
    /// Rows.
    pub nobs: u64,
    /// Whether the rows were weighted.
    pub weighted: bool,
    /// Model degrees of freedom: the features.
    pub df_model: f64,
    /// Residual degrees of freedom: rows − parameters.
    pub df_resid: f64,
    /// R² (centred with an intercept, uncentred without: see the module).
    pub r2: f64,
    /// Adjusted R².
    pub adj_r2: f64,
    /// The F statistic of all slopes being zero.
    pub f_statistic: f64,
    /// Its p-value.
    pub f_p_value: f64,
    /// Gaussian log-likelihood (`None` for a weighted fit from statistics without `Σ ln w`).
    pub log_likelihood: Option<f64>,
    /// −2 llf + 2 k.
    pub aic: Option<f64>,
    /// −2 llf + k ln n.
    pub bic: Option<f64>,
    /// Residual sum of squares (weighted).
    pub ssr: f64,
    /// Residual variance, SSR / df_resid (statsmodels' `scale`).
    pub scale: f64,
    /// Its square root, the residual standard deviation.
    pub resid_std: f64,
    /// The design matrix's condition number, as statsmodels' summary gives it (`Cond. No.`).
    pub condition_number: f64,
    /// The covariance of the estimates, row-major, in the order of `estimates`.
    pub covariance: Vec<f64>,
    /// The robust covariance used (`None`: the classical one, statsmodels' `nonrobust`).
    pub cov_type: Option<CovType>,
}

/// The inference statistics of `model` fitted on `stats`, with `(1 − alpha)` intervals;
/// `weighted`: the rows were weighted (the statistics cannot tell weights that sum to the rows
/// from none).
pub fn infer(
    stats: &SufficientStats,
    model: &Model,
    alpha: f64,
    weighted: bool,
) -> Result<Inference> {
    if !(0.0..1.0).contains(&alpha) || alpha == 0.0 {
        return Err(Error::Alpha(alpha));
    }
    if model.alpha() != 0.0 {
        return Err(Error::RidgeInference(model.alpha()));
    }
    let p = stats.n_features();
    let names = model.feature_names();
    if names.len() != p {
        return Err(Error::Shape {
            what: "features of the model and of the statistics",
            expected: p,
            got: names.len(),
        });
    }
    let intercept = model.fit_intercept();
    let ssr = residual_sum_of_squares(stats, model.coefficients(), intercept);
    let w = stats.weight_dd();
    // Total sum of squares: centred with an intercept, uncentred without (statsmodels').
    let tss = stats.gram_dd(p, p, intercept).to_f64();
    let n = stats.rows();
    let k = p + usize::from(intercept);
    let df_resid = n as f64 - k as f64;
    if df_resid <= 0.0 {
        return Err(Error::TooFewRows {
            rows: n,
            params: k + 1,
        });
    }
    let scale = ssr / df_resid;
    let inverse = gram_inverse(stats, &names, intercept)?;
    let mean: Vec<f64> = (0..p).map(|j| stats.mean()[j]).collect();
    // The covariance in the estimates' order: the intercept first.
    let mut covariance = vec![0.0; k * k];
    let at = |i: usize, j: usize| i * k + j;
    let off = usize::from(intercept);
    for i in 0..p {
        for j in 0..p {
            covariance[at(i + off, j + off)] = scale * inverse[i * p + j];
        }
    }
    if intercept {
        // G⁻¹ x̄
        let gm: Vec<f64> = (0..p)
            .map(|i| (0..p).map(|j| inverse[i * p + j] * mean[j]).sum())
            .collect();
        let quadratic: f64 = (0..p).map(|i| mean[i] * gm[i]).sum();
        covariance[at(0, 0)] = scale * (1.0 / w.to_f64() + quadratic);
        for i in 0..p {
            covariance[at(0, i + 1)] = -scale * gm[i];
            covariance[at(i + 1, 0)] = -scale * gm[i];
        }
    }
    let t_dist =
        StudentsT::new(0.0, 1.0, df_resid).map_err(|e| Error::Distribution(e.to_string()))?;
    let multiplier = upper_quantile(&t_dist, alpha / 2.0);
    let mut values: Vec<(String, f64)> = Vec::with_capacity(k);
    if intercept {
        values.push((String::from("const"), model.intercept()));
    }
    values.extend(
        names
            .iter()
            .cloned()
            .zip(model.coefficients().iter().copied()),
    );
    let estimates = values
        .into_iter()
        .enumerate()
        .map(|(i, (name, coef))| {
            let std_err = covariance[at(i, i)].sqrt();
            let t = coef / std_err;
            Estimate {
                name,
                coef,
                std_err,
                t,
                p_value: 2.0 * t_dist.sf(t.abs()),
                ci_lower: coef - multiplier * std_err,
                ci_upper: coef + multiplier * std_err,
            }
        })
        .collect();
    let r2 = 1.0 - ssr / tss;
    let k_constant = usize::from(intercept) as f64;
    let adj_r2 = 1.0 - (n as f64 - k_constant) / df_resid * (1.0 - r2);
    let df_model = p as f64;
    let f_statistic = ((tss - ssr) / df_model) / scale;
    let f_p_value = FisherSnedecor::new(df_model, df_resid)
        .map_err(|e| Error::Distribution(e.to_string()))?
        .sf(f_statistic);
    // statsmodels' WLS adds ½ Σ ln w; statistics read from a file older than that sum have none.
    let log_weights = if weighted {
        stats.log_weight_sum()
    } else {
        Some(0.0)
    };
    let log_likelihood = log_weights.map(|log_weights| {
        let half = n as f64 / 2.0;
        -half * ((2.0 * std::f64::consts::PI).ln() + (ssr / n as f64).ln() + 1.0)
            + 0.5 * log_weights
    });
    Ok(Inference {
        estimates,
        alpha,
        nobs: n,
        weighted,
        df_model,
        df_resid,
        r2,
        adj_r2,
        f_statistic,
        f_p_value,
        log_likelihood,
        aic: log_likelihood.map(|llf| -2.0 * llf + 2.0 * k as f64),
        bic: log_likelihood.map(|llf| -2.0 * llf + (n as f64).ln() * k as f64),
        ssr,
        scale,
        resid_std: scale.sqrt(),
        condition_number: crate::normal_equations::design_condition(stats, intercept),
        covariance,
        cov_type: None,
    })
}

/// A heteroscedasticity-robust covariance, as statsmodels' `cov_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CovType {
    /// White's: `C (Σ e² x xᵀ) C`.
    HC0,
    /// HC0 × n / (n − k).
    HC1,
    /// Each `e²` divided by `1 − h` (its leverage).
    HC2,
    /// Each `e²` divided by `(1 − h)²`.
    HC3,
}

/// The sums a robust covariance needs, from a second pass over the training rows: call
/// [`Robust::push`] for each row, then [`Inference::robust`].
#[derive(Debug, Clone)]
pub struct Robust {
    kind: CovType,
    /// `C = (X̃ᵀWX̃)⁻¹`, `k × k`, the estimates' order.
    unscaled: Vec<f64>,
    /// `Σ w² e² g x̃ x̃ᵀ`, `k × k`, `g` the kind's leverage factor.
    meat: Vec<f64>,
    k: usize,
    intercept: bool,
    coefficients: Vec<f64>,
    constant: f64,
}

impl Robust {
    /// The sums for `inference` (of the model with these `coefficients` and intercept).
    pub fn new(inference: &Inference, kind: CovType, model: &Model) -> Self {
        let k = inference.estimates.len();
        Self {
            kind,
            unscaled: inference
                .covariance
                .iter()
                .map(|c| c / inference.scale)
                .collect(),
            meat: vec![0.0; k * k],
            k,
            intercept: model.fit_intercept(),
            coefficients: model.coefficients().to_vec(),
            constant: model.intercept(),
        }
    }

    /// Add the sums of `other` (the same fit's, over other rows): passes over chunks of a file
    /// gather apart and merge in file order.
    pub fn merge(&mut self, other: &Robust) {
        for (a, b) in self.meat.iter_mut().zip(&other.meat) {
            *a += b;
        }
    }

    /// Add a training row: its features, target and weight (1 without weights).
    pub fn push(&mut self, x: &[f64], y: f64, w: f64) {
        let k = self.k;
        let xt: Vec<f64> = if self.intercept {
            std::iter::once(1.0).chain(x.iter().copied()).collect()
        } else {
            x.to_vec()
        };
        let fitted = self.constant
            + x.iter()
                .zip(&self.coefficients)
                .map(|(a, b)| a * b)
                .sum::<f64>();
        let e = y - fitted;
        let factor = match self.kind {
            CovType::HC0 | CovType::HC1 => 1.0,
            CovType::HC2 | CovType::HC3 => {
                let h: f64 = w
                    * (0..k)
                        .map(|i| {
                            xt[i]
                                * (0..k)
                                    .map(|j| self.unscaled[i * k + j] * xt[j])
                                    .sum::<f64>()
                        })
                        .sum::<f64>();
                if self.kind == CovType::HC2 {
                    1.0 / (1.0 - h)
                } else {
                    1.0 / ((1.0 - h) * (1.0 - h))
                }
            }
        };
        let u = w * w * e * e * factor;
        for i in 0..k {
            for j in 0..k {
                self.meat[i * k + j] += u * xt[i] * xt[j];
            }
        }
    }
}

impl Inference {
    /// The same fit with the robust covariance `robust` gathered: standard errors, z statistics
    /// and normal p-values and intervals, and the F test of the slopes made with it (Wald's, F
    /// with the residual degrees of freedom), as statsmodels' `fit(cov_type=…)` gives them.
    pub fn robust(mut self, robust: &Robust) -> Result<Self> {
        use statrs::distribution::Normal;

        let k = robust.k;
        let c = &robust.unscaled;
        let m = &robust.meat;
        let mut cov = vec![0.0; k * k];
        // C M C
        let cm: Vec<f64> = (0..k * k)
            .map(|ij| {
                (0..k)
                    .map(|l| c[(ij / k) * k + l] * m[l * k + ij % k])
                    .sum()
            })
            .collect();
        for i in 0..k {
            for j in 0..k {
                cov[i * k + j] = (0..k).map(|l| cm[i * k + l] * c[l * k + j]).sum();
            }
        }
        if robust.kind == CovType::HC1 {
            let factor = self.nobs as f64 / self.df_resid;
            cov.iter_mut().for_each(|v| *v *= factor);
        }
        let normal = Normal::new(0.0, 1.0).map_err(|e| Error::Distribution(e.to_string()))?;
        let z = normal.inverse_cdf(1.0 - self.alpha / 2.0);
        for (i, e) in self.estimates.iter_mut().enumerate() {
            e.std_err = cov[i * k + i].sqrt();
            e.t = e.coef / e.std_err;
            e.p_value = 2.0 * normal.sf(e.t.abs());
            e.ci_lower = e.coef - z * e.std_err;
            e.ci_upper = e.coef + z * e.std_err;
        }
        // Wald's F of the slopes: bᵀ V⁻¹ b / q, with V the slopes' block of the covariance.
        let off = usize::from(robust.intercept);
        let q = k - off;
        let block = nalgebra::DMatrix::from_fn(q, q, |i, j| cov[(i + off) * k + j + off]);
        let b = nalgebra::DVector::from_iterator(q, self.estimates[off..].iter().map(|e| e.coef));
        if let Some(inverse) = block.cholesky().map(|ch| ch.inverse()) {
            self.f_statistic = (b.transpose() * inverse * &b)[(0, 0)] / q as f64;
            self.f_p_value = FisherSnedecor::new(q as f64, self.df_resid)
                .map_err(|e| Error::Distribution(e.to_string()))?
                .sf(self.f_statistic);
        }
        self.covariance = cov;
        self.cov_type = Some(robust.kind);
        Ok(self)
    }
}

/// A number in at most `width` characters, as statsmodels' tables show them.
fn cell(x: f64, width: usize) -> String {
    if x != 0.0 && x.abs() < 1e-3 {
        return format!("{x:.3e}");
    }
    let text = format!("{x:.4}");
    if text.len() <= width {
        return text;
    }
    format!("{x:.3e}")
}

impl Inference {
    /// The table statsmodels' `summary()` prints, for a fit of `target` by `method` (`OLS`,
    /// `WLS`) with the weight column `weight`; it ends with a rule and a line break.
    pub fn table(&self, target: &str, method: &str, weight: Option<&str>) -> String {
        use std::fmt::Write;

        let mut f = String::new();
        let rule = "=".repeat(78);
        let title = format!("{:^78}", format!("{method} Regression Results"));
        let _ = writeln!(f, "{}\n{rule}", title.trim_end());
        let optional = |v: Option<f64>| v.map_or_else(|| String::from("—"), |v| format!("{v:.6}"));
        let pairs = [
            (
                "Dep. Variable:",
                target.to_owned(),
                "R-squared:",
                format!("{:.6}", self.r2),
            ),
            (
                "Model:",
                method.to_owned(),
                "Adj. R-squared:",
                format!("{:.6}", self.adj_r2),
            ),
            (
                "Weights:",
                weight.unwrap_or("none").to_owned(),
                "F-statistic:",
                format!("{:.6}", self.f_statistic),
            ),
            (
                "No. Observations:",
                self.nobs.to_string(),
                "Prob (F-statistic):",
                format!("{:.4e}", self.f_p_value),
            ),
            (
                "Df Residuals:",
                format!("{}", self.df_resid),
                "Log-Likelihood:",
                optional(self.log_likelihood),
            ),
            (
                "Df Model:",
                format!("{}", self.df_model),
                "AIC:",
                optional(self.aic),
            ),
            (
                "Resid. Std:",
                format!("{:.6}", self.resid_std),
                "BIC:",
                optional(self.bic),
            ),
            (
                "Covariance Type:",
                self.cov_type
                    .map_or_else(|| String::from("nonrobust"), |c| format!("{c:?}")),
                "",
                String::new(),
            ),
        ];
        for (a, b, c, d) in pairs {
            let line = format!("{a:<20}{b:>18}   {c:<20}{d:>17}");
            let _ = writeln!(f, "{}", line.trim_end());
        }
        let (lo, hi) = (
            format!("[{}", self.alpha / 2.0),
            format!("{}]", 1.0 - self.alpha / 2.0),
        );
        // statsmodels' robust covariances come with z tests.
        let (statistic, p_label) = match self.cov_type {
            None => ("t", "P>|t|"),
            Some(_) => ("z", "P>|z|"),
        };
        let _ = writeln!(
            f,
            "{rule}\n{:<14}{:>11}{:>11}{:>11}{:>9}{:>11}{:>11}\n{}",
            "",
            "coef",
            "std err",
            statistic,
            p_label,
            lo,
            hi,
            "-".repeat(78)
        );
        for e in &self.estimates {
            let _ = writeln!(
                f,
                "{:<14}{:>11}{:>11}{:>11}{:>9.3}{:>11}{:>11}",
                e.name,
                cell(e.coef, 10),
                cell(e.std_err, 10),
                cell(e.t, 10),
                e.p_value,
                cell(e.ci_lower, 10),
                cell(e.ci_upper, 10)
            );
        }
        f + &rule
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{DMatrix, DVector};

    /// With weights, the log-likelihood adds ½ Σ ln w (statsmodels' WLS), from statistics of
    /// one batch, of merged halves, and none from statistics that predate the sum.
    #[test]
    fn weighted_log_likelihood_adds_half_the_log_weights() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let y = [1.1, 1.9, 3.2, 3.9, 5.1, 6.2, 6.8];
        let w = [1.0, 2.0, 0.5, 3.0, 1.5, 0.0, 2.5];
        let mut stats = SufficientStats::new(1).unwrap();
        stats.push_batch(&x, &y, Some(&w)).unwrap();
        let (mut a, mut b) = (
            SufficientStats::new(1).unwrap(),
            SufficientStats::new(1).unwrap(),
        );
        a.push_batch(&x[..3], &y[..3], Some(&w[..3])).unwrap();
        b.push_batch(&x[3..], &y[3..], Some(&w[3..])).unwrap();
        a.merge(&b).unwrap();
        let log_weights: f64 = w.iter().filter(|&&w| w > 0.0).map(|w| w.ln()).sum();
        for s in [&stats, &a] {
            approx::assert_relative_eq!(s.log_weight_sum().unwrap(), log_weights, epsilon = 1e-15);
        }
        let model = crate::LinearRegression::new().fit_stats(&stats).unwrap();
        let weighted = infer(&stats, &model, 0.05, true).unwrap();
        let plain = infer(&stats, &model, 0.05, false).unwrap();
        approx::assert_relative_eq!(
            weighted.log_likelihood.unwrap() - plain.log_likelihood.unwrap(),
            0.5 * log_weights,
            max_relative = 1e-12
        );
        // A file written before the sum was kept: no log-likelihood for a weighted fit.
        let mut old = serde_json::to_value(&stats).unwrap();
        old.as_object_mut().unwrap().remove("log_weight");
        let old: SufficientStats = serde_json::from_value(old).unwrap();
        assert_eq!(old.log_weight_sum(), None);
        let inference = infer(&old, &model, 0.05, true).unwrap();
        assert!(inference.log_likelihood.is_none() && inference.aic.is_none());
    }

    /// Simple regression, where the textbook formulas give every figure.
    #[test]
    fn simple_regression_matches_the_textbook() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [1.1, 1.9, 3.2, 3.9, 5.1, 6.2];
        let n = x.len() as f64;
        let xm = x.iter().sum::<f64>() / n;
        let ym = y.iter().sum::<f64>() / n;
        let sxx: f64 = x.iter().map(|v| (v - xm).powi(2)).sum();
        let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - xm) * (b - ym)).sum();
        let slope = sxy / sxx;
        let icpt = ym - slope * xm;
        let ssr: f64 = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (b - icpt - slope * a).powi(2))
            .sum();
        let s2 = ssr / (n - 2.0);
        let se_slope = (s2 / sxx).sqrt();
        let se_icpt = (s2 * (1.0 / n + xm * xm / sxx)).sqrt();

        let model = crate::LinearRegression::new()
            .fit(
                &DMatrix::from_column_slice(6, 1, &x),
                &DVector::from_column_slice(&y),
            )
            .unwrap();
        let mut stats = SufficientStats::new(1).unwrap();
        stats
            .push_matrix(&DMatrix::from_column_slice(6, 1, &x), &y)
            .unwrap();
        let inf = infer(&stats, &model, 0.05, false).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1e-300);
        assert_eq!(inf.estimates[0].name, "const");
        assert!(close(inf.estimates[1].std_err, se_slope), "{inf:?}");
        assert!(close(inf.estimates[0].std_err, se_icpt), "{inf:?}");
        assert!(close(inf.ssr, ssr));
        assert!((inf.df_resid - 4.0).abs() < 1e-15);
        // t(4) 0.975 quantile: 2.7764451051977987 (scipy.stats.t.ppf).
        let m = (inf.estimates[1].ci_upper - inf.estimates[1].coef) / se_slope;
        assert!((m - 2.7764451051977987).abs() < 1e-12, "{m}");
        // Where statrs' own inverse is off by 6e-9 relative: scipy's
        // `t.ppf(0.995, 16503)`, 2.5761272544054723, and `t.ppf(0.975, 16503)`.
        let t = StudentsT::new(0.0, 1.0, 16503.0).unwrap();
        for (q, scipy) in [(0.005, 2.5761272544054723), (0.025, 1.9601077427821378)] {
            let x = upper_quantile(&t, q);
            assert!((x - scipy).abs() <= 1e-12 * scipy, "{q}: {x} vs {scipy}");
        }
        assert!(close(inf.f_statistic, (slope / se_slope).powi(2)));
        assert!(infer(&stats, &model, 1.5, false).is_err());
    }
}
