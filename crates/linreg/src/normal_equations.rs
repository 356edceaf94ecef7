//! The solve: scaled normal equations from sufficient statistics.
//!
//! Each column is centred on its weighted mean (the co-moments already are)
//! and scaled by its norm, so the matrix factored is a correlation matrix with
//! a unit diagonal. Its condition number is that of the problem itself, not
//! inflated by units (Population in thousands) or offsets (Latitude near 35).
//!
//! The factorisation and solve run in double-double ([`Dd`]) on the statistics' double-double
//! co-moments, followed by one step of iterative refinement: the coefficients then carry the
//! digits the co-moments hold. For statistics accumulated in double precision that is about
//! 16 − log₁₀(condition number); for those accumulated in double-double (nearly collinear
//! data) about 32 − log₁₀(condition number), capped by an `f64`'s 16.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::double_double::Dd;
use crate::error::{Error, Result, same_len};
use crate::sufficient_stats::SufficientStats;

/// Above this condition number of the scaled Gram matrix, the columns are reported as collinear:
/// the normal equations would keep fewer than four significant digits.
pub const MAX_CONDITION: f64 = 1e12;

/// The same limit for statistics accumulated in double-double: fewer than about seven digits.
pub const MAX_CONDITION_EXTENDED: f64 = 1e24;

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
    /// Least squares only: `M = L⁻¹ D⁻¹`, lower triangular, packed by rows (`M₀₀, M₁₀, M₁₁,
    /// M₂₀, …`), with `L` the Cholesky factor of the scaled Gram matrix and `D` the columns'
    /// norms, so that `dᵀ G⁻¹ d = ‖M d‖²` for the Gram matrix `G` the fit solved.
    pub inverse_factor: Option<Vec<f64>>,
}

/// Solve weighted least squares from `stats`, with the ridge penalty `alpha` on the slopes (0:
/// none); `names` label errors.
pub fn solve(
    stats: &SufficientStats,
    names: &[String],
    fit_intercept: bool,
    alpha: f64,
) -> Result<Solution> {
    check_problem(stats, names, fit_intercept, alpha)?;
    let p = stats.n_features();
    let mut system = Scaled::new(stats, names, fit_intercept)?;
    system.penalise(alpha);
    let (diagnostics, factor) = system.factor(stats.extended(), names)?;
    let scaled = system.solve_refined(&factor);
    let coefficients: Vec<Dd> = scaled
        .iter()
        .zip(&system.norms)
        .map(|(b, &s)| b.div(Dd::from_f64(s)))
        .collect();
    let intercept = if fit_intercept {
        coefficients
            .iter()
            .enumerate()
            .fold(stats.mean_dd(p), |acc, (j, b)| {
                acc.sub(b.mul(stats.mean_dd(j)))
            })
            .to_f64()
    } else {
        0.0
    };
    Ok(Solution {
        coefficients: coefficients.iter().map(|b| b.to_f64()).collect(),
        intercept,
        diagnostics,
        inverse_factor: (alpha == 0.0).then(|| inverse_factor(&factor, &system.norms, p)),
    })
}

/// `L⁻¹ D⁻¹` (see [`Solution::inverse_factor`]): `L` inverted in double-double by forward
/// substitution, then each column divided by its norm; packed by rows.
fn inverse_factor(l: &[Dd], norms: &[f64], p: usize) -> Vec<f64> {
    let x = lower_inverse(l, p);
    (0..p)
        .flat_map(|i| (0..=i).map(move |j| (i, j)))
        .map(|(i, j)| x[i * p + j].div(Dd::from_f64(norms[j])).to_f64())
        .collect()
}

/// The inverse of the Gram matrix the fit solved (the weighted co-moments of the centred
/// columns with an intercept, of the raw columns without), in the features' units, row-major
/// `p × p`: solved column by column with the double-double factor of the scaled matrix and one
/// step of refinement, so that it keeps the digits of the coefficients.
pub(crate) fn gram_inverse(
    stats: &SufficientStats,
    names: &[String],
    fit_intercept: bool,
) -> Result<Vec<f64>> {
    check_problem(stats, names, fit_intercept, 0.0)?;
    let p = stats.n_features();
    let system = Scaled::new(stats, names, fit_intercept)?;
    let (diagnostics, factor) = system.factor(stats.extended(), names)?;
    let mut inverse = vec![0.0; p * p];
    let mut put = |i: usize, j: usize, x: Dd| {
        inverse[i * p + j] = x
            .div(Dd::from_f64(system.norms[i]))
            .div(Dd::from_f64(system.norms[j]))
            .to_f64();
    };
    if diagnostics.condition_number < DIRECT_INVERSE_BELOW {
        // `G⁻¹ = L⁻ᵀ L⁻¹`, both factors in double-double: its relative error, about 1e-32 times
        // the condition number, is far below an `f64`'s, which refinement could not improve.
        let m = lower_inverse(&factor, p);
        for i in 0..p {
            for j in 0..=i {
                let x = (i..p).fold(Dd::ZERO, |acc, k| acc.add(m[k * p + i].mul(m[k * p + j])));
                put(i, j, x);
                put(j, i, x);
            }
        }
        return Ok(inverse);
    }
    for j in 0..p {
        let unit: Vec<Dd> = (0..p)
            .map(|i| Dd::from_f64(if i == j { 1.0 } else { 0.0 }))
            .collect();
        for (i, x) in system.refined(&factor, &unit).into_iter().enumerate() {
            put(i, j, x);
        }
    }
    Ok(inverse)
}

/// Below this condition number of the scaled Gram matrix, [`gram_inverse`] multiplies the
/// inverted factors instead of solving for each unit vector with a step of refinement (eight
/// times the work).
const DIRECT_INVERSE_BELOW: f64 = 1e6;

/// `L⁻¹` of the lower triangular `l` (`p × p`, row-major), in double-double, by forward
/// substitution.
fn lower_inverse(l: &[Dd], p: usize) -> Vec<Dd> {
    let mut x = vec![Dd::ZERO; p * p];
    for j in 0..p {
        x[j * p + j] = Dd::from_f64(1.0).div(l[j * p + j]);
        for i in j + 1..p {
            let sum = (j..i).fold(Dd::ZERO, |acc, k| acc.add(l[i * p + k].mul(x[k * p + j])));
            x[i * p + j] = Dd::ZERO.sub(sum).div(l[i * p + i]);
        }
    }
    x
}

/// The condition number statsmodels reports (`np.linalg.cond` of the design matrix, the
/// constant column included with an intercept, rows scaled by √w with weights): the square root
/// of the extreme eigenvalues' ratio of its raw Gram matrix. The largest from an `f64`
/// eigensolver, the smallest by inverse iteration with the matrix's double-double Cholesky
/// factor, whose relative error an `f64` eigensolver would multiply by the squared condition.
pub(crate) fn design_condition(stats: &SufficientStats, fit_intercept: bool) -> f64 {
    let p = stats.n_features();
    let w = stats.weight_dd();
    let k = p + usize::from(fit_intercept);
    let raw = |i: usize, j: usize| stats.gram_dd(i, j, false);
    let mut g = vec![Dd::ZERO; k * k];
    let off = usize::from(fit_intercept);
    for i in 0..p {
        for j in 0..p {
            g[(i + off) * k + j + off] = raw(i, j);
        }
    }
    if fit_intercept {
        g[0] = w;
        for i in 0..p {
            let s = w.mul(stats.mean_dd(i));
            g[i + 1] = s;
            g[(i + 1) * k] = s;
        }
    }
    let rounded = DMatrix::from_fn(k, k, |i, j| g[i * k + j].to_f64());
    let largest = rounded
        .symmetric_eigenvalues()
        .iter()
        .fold(0.0_f64, |m, &v| m.max(v));
    let Some(l) = cholesky(&g, k) else {
        return f64::INFINITY;
    };
    let (ratio, _) = refined_condition_with(largest, &l, k, 200);
    ratio.sqrt()
}

/// Refuse what no solve can answer: names that do not match, no features, fewer rows than
/// parameters (unless a ridge penalty `alpha` makes the system definite), a constant feature.
fn check_problem(
    stats: &SufficientStats,
    names: &[String],
    fit_intercept: bool,
    alpha: f64,
) -> Result<()> {
    let p = stats.n_features();
    same_len("feature names", p, names.len())?;
    if p == 0 {
        return Err(Error::Shape {
            what: "feature columns (at least one is needed)",
            expected: 1,
            got: 0,
        });
    }
    let params = p + usize::from(fit_intercept);
    if (stats.rows() < params as u64 && alpha == 0.0) || stats.rows() == 0 {
        return Err(Error::TooFewRows {
            rows: stats.rows(),
            params,
        });
    }
    for ((name, lo), hi) in names.iter().zip(stats.min()).zip(stats.max()) {
        if lo == hi && (fit_intercept || *lo == 0.0) {
            return Err(Error::ConstantFeature(name.clone()));
        }
    }
    Ok(())
}

/// The normal equations scaled to a unit diagonal, in double-double: `g b = rhs`, where the
/// coefficients are `b / norms`.
struct Scaled {
    p: usize,
    norms: Vec<f64>,
    /// Row-major `p × p`.
    g: Vec<Dd>,
    rhs: Vec<Dd>,
}

impl Scaled {
    /// From the Gram matrix of the centred columns, or of the raw ones without an intercept.
    fn new(stats: &SufficientStats, names: &[String], fit_intercept: bool) -> Result<Self> {
        let p = stats.n_features();
        let gram = |i: usize, j: usize| stats.gram_dd(i, j, fit_intercept);
        let norms: Vec<f64> = (0..p).map(|j| gram(j, j).sqrt().to_f64()).collect();
        if let Some(j) = norms.iter().position(|&s| !(s > 0.0 && s.is_finite())) {
            return Err(Error::ConstantFeature(names[j].clone()));
        }
        // The diagonal too is divided out rather than set to 1: the norms are rounded to f64s,
        // and a unit diagonal would then differ from the scaled matrix by their rounding.
        let g = (0..p * p)
            .map(|k| {
                let (i, j) = (k / p, k % p);
                gram(i, j)
                    .div(Dd::from_f64(norms[i]))
                    .div(Dd::from_f64(norms[j]))
            })
            .collect();
        let rhs = (0..p)
            .map(|i| gram(i, p).div(Dd::from_f64(norms[i])))
            .collect();
        Ok(Self { p, norms, g, rhs })
    }

    /// Add the ridge penalty `alpha` to the diagonal, in the scaled units: `(G + αI) b = r`
    /// becomes `(Gs + α D⁻²) bs = rs` with `D` the columns' norms.
    fn penalise(&mut self, alpha: f64) {
        if alpha == 0.0 {
            return;
        }
        let p = self.p;
        for i in 0..p {
            let norm = Dd::from_f64(self.norms[i]);
            self.g[i * p + i] = self.g[i * p + i].add(Dd::from_f64(alpha).div(norm.mul(norm)));
        }
    }

    /// The diagnostics and the Cholesky factor, or the collinear columns named, above the
    /// condition number that statistics of this precision (`extended`: double-double) allow.
    fn factor(&self, extended: bool, names: &[String]) -> Result<(Diagnostics, Vec<Dd>)> {
        let p = self.p;
        let limit = if extended {
            MAX_CONDITION_EXTENDED
        } else {
            MAX_CONDITION
        };
        let rounded = DMatrix::from_fn(p, p, |i, j| self.g[i * p + j].to_f64());
        let (mut diagnostics, largest) = condition(&rounded);
        let mut weakest = None;
        let factor = cholesky(&self.g, p);
        if let Some(l) = &factor
            && extended
            && diagnostics.condition_number >= 1e13
        {
            // Beyond what an f64 eigensolver resolves: the smallest eigenvalue by inverse
            // iteration with the double-double factor.
            let (condition_number, direction) = refined_condition(largest, l, p);
            (diagnostics.condition_number, weakest) = (condition_number, Some(direction));
            diagnostics.rank = p;
        }
        // Written so that a NaN condition number also counts as collinear.
        let collinear_now = || {
            let weakest = weakest.unwrap_or_else(|| weakest_direction(&rounded));
            collinear(names, &weakest, diagnostics.condition_number)
        };
        if diagnostics.condition_number.is_nan() || diagnostics.condition_number >= limit {
            return Err(collinear_now());
        }
        Ok((diagnostics, factor.ok_or_else(collinear_now)?))
    }

    /// Solve with the factor `l`, then one step of iterative refinement with the residual in
    /// double-double.
    fn solve_refined(&self, l: &[Dd]) -> Vec<Dd> {
        self.refined(l, &self.rhs)
    }

    /// Solve `g x = rhs` with the factor `l`, refined once.
    fn refined(&self, l: &[Dd], rhs: &[Dd]) -> Vec<Dd> {
        let p = self.p;
        let mut b = cholesky_solve(l, rhs, p);
        let residual: Vec<Dd> = (0..p)
            .map(|i| (0..p).fold(rhs[i], |r, j| r.sub(self.g[i * p + j].mul(b[j]))))
            .collect();
        for (bi, c) in b.iter_mut().zip(cholesky_solve(l, &residual, p)) {
            *bi = bi.add(c);
        }
        b
    }
}

/// The lower Cholesky factor of the symmetric `p × p` matrix `g` (row-major), in
/// double-double; `None` unless it is positive definite to that precision.
fn cholesky(g: &[Dd], p: usize) -> Option<Vec<Dd>> {
    let mut l = vec![Dd::ZERO; p * p];
    for i in 0..p {
        for j in 0..=i {
            let v = (0..j).fold(g[i * p + j], |acc, k| {
                acc.sub(l[i * p + k].mul(l[j * p + k]))
            });
            if i == j {
                // Not positive (NaN included).
                if v.hi.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                    return None;
                }
                l[i * p + i] = v.sqrt();
            } else {
                l[i * p + j] = v.div(l[j * p + j]);
            }
        }
    }
    Some(l)
}

/// Solve `L Lᵀ x = b` with the factor from [`cholesky`].
fn cholesky_solve(l: &[Dd], b: &[Dd], p: usize) -> Vec<Dd> {
    let mut y = vec![Dd::ZERO; p];
    for i in 0..p {
        let v = (0..i).fold(b[i], |acc, k| acc.sub(l[i * p + k].mul(y[k])));
        y[i] = v.div(l[i * p + i]);
    }
    let mut x = vec![Dd::ZERO; p];
    for i in (0..p).rev() {
        let v = (i + 1..p).fold(y[i], |acc, k| acc.sub(l[k * p + i].mul(x[k])));
        x[i] = v.div(l[i * p + i]);
    }
    x
}

/// The condition number of a matrix factored in double-double in `l` when it is too large for
/// an `f64` eigensolver: its `largest` eigenvalue (which the `f64` solver gets right) over the
/// smallest, found by inverse iteration, with that eigenvalue's eigenvector.
fn refined_condition(largest: f64, l: &[Dd], p: usize) -> (f64, DVector<f64>) {
    refined_condition_with(largest, l, p, 30)
}

/// [`refined_condition`] with at most `iterations` steps of inverse iteration. The growth rises
/// monotonically towards the smallest eigenvalue's inverse by steps that shrink geometrically;
/// the iteration stops at the first step that leaves it unchanged in `f64` (California's
/// summary: 200 steps took 0.4 ms of its 0.48).
fn refined_condition_with(
    largest: f64,
    l: &[Dd],
    p: usize,
    iterations: usize,
) -> (f64, DVector<f64>) {
    let mut v = vec![Dd::from_f64(1.0 / (p as f64).sqrt()); p];
    let mut growth = 0.0;
    for _ in 0..iterations {
        let next = cholesky_solve(l, &v, p);
        let norm = next
            .iter()
            .fold(Dd::ZERO, |acc, x| acc.add(x.mul(*x)))
            .sqrt();
        let previous = std::mem::replace(&mut growth, norm.to_f64());
        v = next.iter().map(|x| x.div(norm)).collect();
        if growth == previous {
            break;
        }
    }
    let vector = DVector::from_iterator(p, v.iter().map(|x| x.to_f64()));
    (largest * growth, vector)
}

/// Rank, condition number and the largest eigenvalue.
fn condition(g: &DMatrix<f64>) -> (Diagnostics, f64) {
    let p = g.nrows();
    if p == 0 {
        let d = Diagnostics {
            rank: 0,
            condition_number: 1.0,
        };
        return (d, 0.0);
    }
    // The eigenvalues alone: nalgebra finds them by the same iteration with or without the
    // eigenvectors, which only a refusal needs ([`weakest_direction`]).
    let eigenvalues = g.symmetric_eigenvalues();
    let (lo, hi) = extremes(&eigenvalues);
    let (min, max) = (eigenvalues[lo], eigenvalues[hi]);
    let tolerance = max * p as f64 * f64::EPSILON;
    let rank = eigenvalues.iter().filter(|&&v| v > tolerance).count();
    let condition_number = if min > 0.0 { max / min } else { f64::INFINITY };
    let d = Diagnostics {
        rank,
        condition_number,
    };
    (d, max)
}

/// The indices of the smallest and the largest of `values` (the first of equals).
fn extremes(values: &DVector<f64>) -> (usize, usize) {
    let (mut lo, mut hi) = (0, 0);
    for (i, &v) in values.iter().enumerate() {
        if v < values[lo] {
            lo = i;
        }
        if v > values[hi] {
            hi = i;
        }
    }
    (lo, hi)
}

/// The eigenvector of the symmetric `g`'s smallest eigenvalue: the near-null direction whose
/// columns a refusal names.
fn weakest_direction(g: &DMatrix<f64>) -> DVector<f64> {
    if g.nrows() == 0 {
        return DVector::zeros(0);
    }
    let eig = nalgebra::SymmetricEigen::new(g.clone());
    let (lo, _) = extremes(&eig.eigenvalues);
    eig.eigenvectors.column(lo).into_owned()
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
