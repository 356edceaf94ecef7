//! The solve: scaled normal equations from sufficient statistics.
//!
//! Each column is centred on its weighted mean (the co-moments already are)
//! and scaled by its norm, so the matrix factored is a correlation matrix with
//! a unit diagonal. Its condition number is that of the problem itself, not
//! inflated by units (Population in thousands) or offsets (Latitude near 35).

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::stats::SufficientStats;

/// Above this condition number of the scaled Gram matrix, the columns are reported as collinear:
/// the normal equations would keep fewer than four significant digits.
pub const MAX_CONDITION: f64 = 1e12;

/// What the solve saw, kept with the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Numerical rank of the scaled Gram matrix.
    pub rank: usize,
    /// Condition number (largest over smallest eigenvalue) of the scaled Gram matrix.
    pub condition_number: f64,
}

/// Coefficients, intercept and diagnostics of one fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// One per feature.
    pub coefficients: Vec<f64>,
    /// Zero when fitted without an intercept.
    pub intercept: f64,
    /// Rank and condition.
    pub diagnostics: Diagnostics,
}

/// Solve weighted least squares from `stats`; `names` label errors.
pub fn solve(stats: &SufficientStats, names: &[String], fit_intercept: bool) -> Result<Solution> {
    let p = stats.n_features();
    if names.len() != p {
        return Err(Error::Shape {
            what: "feature names",
            expected: p,
            got: names.len(),
        });
    }
    if p == 0 {
        return Err(Error::Shape {
            what: "feature columns (at least one is needed)",
            expected: 1,
            got: 0,
        });
    }
    let params = p + usize::from(fit_intercept);
    if stats.rows() < params as u64 || stats.rows() == 0 {
        return Err(Error::TooFewRows {
            rows: stats.rows(),
            params,
        });
    }
    let mean = stats.mean();
    for ((name, lo), hi) in names.iter().zip(stats.min()).zip(stats.max()) {
        if lo == hi && (fit_intercept || *lo == 0.0) {
            return Err(Error::ConstantFeature(name.clone()));
        }
    }
    // Gram matrix of the centred columns, or of the raw ones without an intercept.
    let w = stats.weight();
    let gram = |i: usize, j: usize| {
        let c = stats.comoment(i, j);
        if fit_intercept {
            c
        } else {
            c + w * mean[i] * mean[j]
        }
    };
    let norms: Vec<f64> = (0..p).map(|j| gram(j, j).sqrt()).collect();
    if let Some(j) = norms.iter().position(|&s| !(s > 0.0 && s.is_finite())) {
        return Err(Error::ConstantFeature(names[j].clone()));
    }
    let g = DMatrix::from_fn(p, p, |i, j| {
        if i == j {
            1.0
        } else {
            gram(i, j) / (norms[i] * norms[j])
        }
    });
    let rhs = DVector::from_fn(p, |i, _| gram(i, p) / norms[i]);

    let (diagnostics, weakest) = condition(&g);
    // Written so that a NaN condition number also counts as collinear.
    if diagnostics.condition_number.is_nan() || diagnostics.condition_number >= MAX_CONDITION {
        return Err(collinear(names, &weakest, diagnostics.condition_number));
    }
    let chol = nalgebra::Cholesky::new(g.clone())
        .ok_or_else(|| collinear(names, &weakest, diagnostics.condition_number))?;
    let mut scaled = chol.solve(&rhs);
    // One step of iterative refinement recovers the digits the factorisation rounded away.
    let residual = &rhs - &g * &scaled;
    scaled += chol.solve(&residual);

    let coefficients: Vec<f64> = scaled.iter().zip(&norms).map(|(b, s)| b / s).collect();
    let intercept = if fit_intercept {
        mean[p]
            - coefficients
                .iter()
                .zip(mean)
                .map(|(b, m)| b * m)
                .sum::<f64>()
    } else {
        0.0
    };
    Ok(Solution {
        coefficients,
        intercept,
        diagnostics,
    })
}

/// Rank, condition number and the eigenvector of the smallest eigenvalue.
fn condition(g: &DMatrix<f64>) -> (Diagnostics, DVector<f64>) {
    let p = g.nrows();
    if p == 0 {
        let d = Diagnostics {
            rank: 0,
            condition_number: 1.0,
        };
        return (d, DVector::zeros(0));
    }
    let eig = nalgebra::SymmetricEigen::new(g.clone());
    let (mut lo, mut hi) = (0, 0);
    for (i, &v) in eig.eigenvalues.iter().enumerate() {
        if v < eig.eigenvalues[lo] {
            lo = i;
        }
        if v > eig.eigenvalues[hi] {
            hi = i;
        }
    }
    let (min, max) = (eig.eigenvalues[lo], eig.eigenvalues[hi]);
    let tolerance = max * p as f64 * f64::EPSILON;
    let rank = eig.eigenvalues.iter().filter(|&&v| v > tolerance).count();
    let condition_number = if min > 0.0 { max / min } else { f64::INFINITY };
    let d = Diagnostics {
        rank,
        condition_number,
    };
    (d, eig.eigenvectors.column(lo).into_owned())
}

/// Name the columns that carry the near-null direction.
fn collinear(names: &[String], weakest: &DVector<f64>, condition: f64) -> Error {
    let largest = weakest.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let features = names
        .iter()
        .zip(weakest.iter())
        .filter(|(_, v)| v.abs() >= 0.1 * largest)
        .map(|(n, _)| n.clone())
        .collect();
    Error::Collinear {
        features,
        condition,
    }
}
