//! One-pass, mergeable sufficient statistics for weighted least squares.
//!
//! Rows are taken in batches: each batch is centred on its own weighted mean
//! (two passes over data that sits in cache), its co-moment matrix is formed
//! from the centred columns, and the batch is merged into the running totals
//! with Chan's parallel update. No raw sums of squares are ever formed, so
//! columns far from zero (latitudes, populations) lose no digits.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Rows per internal batch: the centred copy (9 columns × 1024 rows × 8 B) stays in L2.
const BATCH: usize = 1024;

/// Weighted count, means, co-moments and ranges of the features and the target.
///
/// Index `0..p` are the features, index `p` the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SufficientStats {
    n_features: usize,
    rows: u64,
    weight: f64,
    mean: Vec<f64>,
    /// Row-major `(p + 1) × (p + 1)`, symmetric: `Σ w (z − mean)(z − mean)ᵀ`.
    comoment: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
}

fn check_finite(what: &'static str, row: usize, column: usize, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFinite {
            what,
            row,
            column,
            value,
        })
    }
}

/// Dot product with eight accumulators, so that the compiler keeps SIMD lanes busy.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0_f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f64>() + tail
}

impl SufficientStats {
    /// Empty statistics for `n_features` features.
    pub fn new(n_features: usize) -> Self {
        let d = n_features + 1;
        Self {
            n_features,
            rows: 0,
            weight: 0.0,
            mean: vec![0.0; d],
            comoment: vec![0.0; d * d],
            min: vec![f64::INFINITY; n_features],
            max: vec![f64::NEG_INFINITY; n_features],
        }
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Rows seen with a positive weight.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Sum of the weights.
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// Weighted means: features, then the target.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Co-moment `Σ w (zᵢ − z̄ᵢ)(zⱼ − z̄ⱼ)` of columns `i` and `j` (index `p` is the target).
    pub fn comoment(&self, i: usize, j: usize) -> f64 {
        self.comoment[i * (self.n_features + 1) + j]
    }

    /// Smallest value of each feature over rows with positive weight.
    pub fn min(&self) -> &[f64] {
        &self.min
    }

    /// Largest value of each feature over rows with positive weight.
    pub fn max(&self) -> &[f64] {
        &self.max
    }

    /// Add one row with weight `w`.
    pub fn push(&mut self, x: &[f64], y: f64, w: f64) -> Result<()> {
        self.push_batch(x, &[y], Some(&[w]))
    }

    /// Add a batch: `x` is row-major, `y.len()` rows of `n_features` values;
    /// `weights` defaults to 1 for every row.
    pub fn push_batch(&mut self, x: &[f64], y: &[f64], weights: Option<&[f64]>) -> Result<()> {
        let p = self.n_features;
        let n = y.len();
        if x.len() != n * p {
            return Err(Error::Shape {
                what: "feature values for the given targets",
                expected: n * p,
                got: x.len(),
            });
        }
        if let Some(w) = weights
            && w.len() != n
        {
            return Err(Error::Shape {
                what: "weights",
                expected: n,
                got: w.len(),
            });
        }
        for (r, row) in x.chunks_exact(p.max(1)).take(n).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                check_finite("feature", r, c, v)?;
            }
        }
        for (r, &v) in y.iter().enumerate() {
            check_finite("target", r, p, v)?;
        }
        if let Some(w) = weights {
            for (r, &v) in w.iter().enumerate() {
                check_finite("weight", r, 0, v)?;
                if v < 0.0 {
                    return Err(Error::NegativeWeight { row: r, value: v });
                }
            }
        }
        let mut scratch = Vec::new();
        for start in (0..n).step_by(BATCH) {
            let end = (start + BATCH).min(n);
            self.push_checked(
                &x[start * p..end * p],
                &y[start..end],
                weights.map(|w| &w[start..end]),
                &mut scratch,
            );
        }
        Ok(())
    }

    /// One batch of already validated rows.
    fn push_checked(&mut self, x: &[f64], y: &[f64], w: Option<&[f64]>, scratch: &mut Vec<f64>) {
        let p = self.n_features;
        let d = p + 1;
        let n = y.len();
        let weight_of = |r: usize| w.map_or(1.0, |w| w[r]);
        let value = |r: usize, c: usize| if c < p { x[r * p + c] } else { y[r] };

        let mut batch_weight = 0.0;
        let mut batch_mean = vec![0.0; d];
        let mut rows = 0;
        for r in 0..n {
            let wr = weight_of(r);
            if wr == 0.0 {
                continue;
            }
            rows += 1;
            batch_weight += wr;
            for (c, m) in batch_mean.iter_mut().enumerate() {
                *m += wr * value(r, c);
            }
            for c in 0..p {
                self.min[c] = self.min[c].min(x[r * p + c]);
                self.max[c] = self.max[c].max(x[r * p + c]);
            }
        }
        if rows == 0 {
            return;
        }
        batch_mean.iter_mut().for_each(|m| *m /= batch_weight);

        // Column-major centred copy, each row scaled by √w, so that Cᵢⱼ is a plain dot product.
        scratch.clear();
        scratch.resize(d * n, 0.0);
        for (c, col) in scratch.chunks_exact_mut(n).enumerate() {
            let m = batch_mean[c];
            match w {
                None => col
                    .iter_mut()
                    .enumerate()
                    .for_each(|(r, z)| *z = value(r, c) - m),
                Some(w) => col
                    .iter_mut()
                    .enumerate()
                    .for_each(|(r, z)| *z = w[r].sqrt() * (value(r, c) - m)),
            }
        }
        let mut batch_comoment = vec![0.0; d * d];
        for i in 0..d {
            for j in i..d {
                let v = dot(&scratch[i * n..(i + 1) * n], &scratch[j * n..(j + 1) * n]);
                batch_comoment[i * d + j] = v;
                batch_comoment[j * d + i] = v;
            }
        }
        self.merge_moments(rows, batch_weight, &batch_mean, &batch_comoment);
    }

    /// Chan et al.'s pairwise update of count, mean and co-moments.
    fn merge_moments(&mut self, rows: u64, weight: f64, mean: &[f64], comoment: &[f64]) {
        if weight == 0.0 {
            return;
        }
        let d = self.n_features + 1;
        if self.weight == 0.0 {
            self.mean.copy_from_slice(mean);
            self.comoment.copy_from_slice(comoment);
        } else {
            let total = self.weight + weight;
            let delta: Vec<f64> = mean.iter().zip(&self.mean).map(|(b, a)| b - a).collect();
            let f = self.weight * weight / total;
            for i in 0..d {
                for j in 0..d {
                    self.comoment[i * d + j] += comoment[i * d + j] + f * delta[i] * delta[j];
                }
            }
            for (m, dm) in self.mean.iter_mut().zip(&delta) {
                *m += dm * (weight / total);
            }
        }
        self.weight += weight;
        self.rows += rows;
    }

    /// Combine with statistics of other rows: the result equals one pass over both sets.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        if other.n_features != self.n_features {
            return Err(Error::Shape {
                what: "features in merged statistics",
                expected: self.n_features,
                got: other.n_features,
            });
        }
        for c in 0..self.n_features {
            self.min[c] = self.min[c].min(other.min[c]);
            self.max[c] = self.max[c].max(other.max[c]);
        }
        self.merge_moments(other.rows, other.weight, &other.mean, &other.comoment);
        Ok(())
    }

    /// Check that a value read from outside (a file) is well formed.
    pub fn validate(&self) -> Result<()> {
        let d = self.n_features + 1;
        let ok = self.mean.len() == d
            && self.comoment.len() == d * d
            && self.min.len() == self.n_features
            && self.max.len() == self.n_features
            && self.weight.is_finite()
            && self.weight >= 0.0
            && self
                .mean
                .iter()
                .chain(&self.comoment)
                .all(|v| v.is_finite());
        if ok {
            Ok(())
        } else {
            Err(Error::Format(String::from(
                "sufficient statistics are inconsistent",
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn means_and_comoments_match_two_pass_formulas() {
        let x = [1.0, 10.0, 2.0, 20.0, 4.0, 25.0, 7.0, 31.0];
        let y = [3.0, 5.0, 4.0, 9.0];
        let mut s = SufficientStats::new(2);
        s.push_batch(&x, &y, None).unwrap();
        assert_eq!(s.rows(), 4);
        assert_relative_eq!(s.mean()[0], 3.5);
        assert_relative_eq!(s.mean()[2], 5.25);
        // Σ (x0 − 3.5)(y − 5.25) computed by hand: (-2.5)(-2.25)+(-1.5)(-0.25)+(0.5)(-1.25)+(3.5)(3.75)
        assert_relative_eq!(s.comoment(0, 2), 18.5, max_relative = 1e-14);
        assert_eq!(s.min(), &[1.0, 10.0]);
        assert_eq!(s.max(), &[7.0, 31.0]);
    }

    #[test]
    fn rejects_bad_input_with_its_place() {
        let mut s = SufficientStats::new(2);
        assert!(matches!(
            s.push_batch(&[1.0, 2.0, 3.0], &[1.0, 2.0], None),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            s.push_batch(&[1.0, 2.0, 3.0, f64::NAN], &[1.0, 2.0], None),
            Err(Error::NonFinite {
                what: "feature",
                row: 1,
                column: 1,
                ..
            })
        ));
        assert!(matches!(
            s.push(&[1.0, 2.0], 1.0, -1.0),
            Err(Error::NegativeWeight { .. })
        ));
        assert_eq!(s.rows(), 0, "a rejected batch leaves no trace");
    }
}
