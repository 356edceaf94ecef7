//! The fitted model and the estimator that makes it.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::drift::{DEFAULT_BINS, Distribution, TrainingDistributions};
use crate::error::{Error, Result, same_len};
use crate::interval::{Bands, Covariance};
use crate::normal_equations::{Diagnostics, solve};
use crate::sketch::Sketch;
use crate::sufficient_stats::SufficientStats;
use recipe::{BoundRecipe, Recipe};

/// Ordinary (optionally weighted) least squares, as scikit-learn's `LinearRegression`.
///
/// ```
/// use linreg::LinearRegression;
/// use nalgebra::{DMatrix, DVector};
/// let x = DMatrix::from_row_slice(4, 1, &[0.0, 1.0, 2.0, 3.0]);
/// let y = DVector::from_vec(vec![1.0, 3.0, 5.0, 7.0]);
/// let model = LinearRegression::new().fit(&x, &y).unwrap();
/// assert!((model.coefficients()[0] - 2.0).abs() < 1e-12);
/// assert!((model.intercept() - 1.0).abs() < 1e-12);
/// let origin = LinearRegression::new().fit_intercept(false).fit(&x, &y).unwrap();
/// assert_eq!(origin.intercept(), 0.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRegression {
    /// Fit an intercept (default true); without it the line passes through the origin.
    fit_intercept: bool,
    /// Names and derivation of the features; `None` names them `x0`, `x1`, … and the target `y`.
    recipe: Option<Recipe>,
    /// The ridge penalty on the slopes (scikit-learn's `Ridge(alpha)`); 0: least squares.
    alpha: f64,
}

impl Default for LinearRegression {
    fn default() -> Self {
        Self {
            fit_intercept: true,
            recipe: None,
            alpha: 0.0,
        }
    }
}

impl LinearRegression {
    /// The estimator with its defaults: an intercept, features named `x0`, `x1`, ….
    pub fn new() -> Self {
        Self::default()
    }

    /// Fit an intercept (the default), or pass through the origin (`false`).
    #[must_use]
    pub fn fit_intercept(mut self, yes: bool) -> Self {
        self.fit_intercept = yes;
        self
    }

    /// The models carry `recipe`: the features' names and how they come from raw columns.
    #[must_use]
    pub fn recipe(mut self, recipe: Recipe) -> Self {
        self.recipe = Some(recipe);
        self
    }

    /// Penalise the slopes by `alpha` times their squared norm, as scikit-learn's
    /// `Ridge(alpha)`: the intercept is not penalised, the columns are centred on their
    /// (weighted) means. 0 (the default) is least squares; a negative or non-finite `alpha` is
    /// refused when fitting.
    #[must_use]
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// The ridge penalty.
    pub fn penalty(&self) -> f64 {
        self.alpha
    }

    /// Whether the models have an intercept.
    pub fn fits_intercept(&self) -> bool {
        self.fit_intercept
    }

    /// Fit on rows of `x` (one row per sample) and targets `y`.
    pub fn fit(&self, x: &DMatrix<f64>, y: &DVector<f64>) -> Result<Model> {
        self.fit_weighted(x, y, None)
    }

    /// Fit with sample weights (weighted least squares); a zero weight drops the row.
    pub fn fit_weighted(
        &self,
        x: &DMatrix<f64>,
        y: &DVector<f64>,
        weights: Option<&DVector<f64>>,
    ) -> Result<Model> {
        same_len("targets for the feature rows", x.nrows(), y.len())?;
        let mut stats = SufficientStats::new(x.ncols())?;
        match weights {
            None => stats.push_matrix(x, y.as_slice())?,
            Some(w) => {
                // Weighted fits are rare here; the accumulator takes them row-major.
                let rows = x.transpose();
                stats.push_batch(rows.as_slice(), y.as_slice(), Some(w.as_slice()))?;
            }
        }
        self.fit_stats(&stats)
    }

    /// Fit on the rows `rows` of `x` (a training split's index list), without copying them out.
    ///
    /// ```
    /// use linreg::LinearRegression;
    /// use nalgebra::{DMatrix, DVector};
    /// let x = DMatrix::from_row_slice(5, 1, &[0.0, 1.0, 2.0, 3.0, 100.0]);
    /// let y = DVector::from_vec(vec![1.0, 3.0, 5.0, 7.0, -1.0]);
    /// let model = LinearRegression::default().fit_rows(&x, &y, &[0, 1, 2, 3]).unwrap();
    /// assert!((model.coefficients()[0] - 2.0).abs() < 1e-12);
    /// ```
    pub fn fit_rows(&self, x: &DMatrix<f64>, y: &DVector<f64>, rows: &[usize]) -> Result<Model> {
        self.fit_rows_weighted(x, y, None, rows)
    }

    /// [`fit_rows`](Self::fit_rows) with sample weights, one per row of `x`.
    pub fn fit_rows_weighted(
        &self,
        x: &DMatrix<f64>,
        y: &DVector<f64>,
        weights: Option<&DVector<f64>>,
        rows: &[usize],
    ) -> Result<Model> {
        let mut stats = SufficientStats::new(x.ncols())?;
        stats.push_rows_weighted(x, y.as_slice(), weights.map(DVector::as_slice), rows)?;
        self.fit_stats(&stats)
    }

    /// Fit from sufficient statistics (one pass, or merged shards).
    pub fn fit_stats(&self, stats: &SufficientStats) -> Result<Model> {
        let p = stats.n_features();
        let recipe = match &self.recipe {
            Some(r) => r.clone(),
            None => {
                let names: Vec<String> = (0..p).map(|j| format!("x{j}")).collect();
                Recipe::identity(&names, "y")
            }
        };
        let names = recipe.feature_names();
        if !(self.alpha >= 0.0 && self.alpha.is_finite()) {
            return Err(Error::Penalty(self.alpha));
        }
        let solution = solve(stats, &names, self.fit_intercept, self.alpha)?;
        let covariance = solution.inverse_factor.and_then(|factor| {
            Covariance::of_fit(stats, &solution.coefficients, self.fit_intercept, factor)
        });
        Ok(Model {
            recipe,
            coefficients: solution.coefficients,
            intercept: solution.intercept,
            n_train: stats.rows(),
            feature_mean: stats.mean()[..p].to_vec(),
            feature_min: stats.min().to_vec(),
            feature_max: stats.max().to_vec(),
            diagnostics: solution.diagnostics,
            fit_intercept: self.fit_intercept,
            alpha: self.alpha,
            covariance,
            distributions: None,
        })
    }
}

/// A fitted linear model: `ŷ = x · coefficients + intercept`. Made by [`LinearRegression`] or
/// read from a model file (checked on reading); its fields are read through accessors.
///
/// Its file payload (format versions 3 and 4) is these fields in order, as a MessagePack array;
/// version 2 files, which end before the distributions, are read through [`ModelV2`], and
/// version 1 files, which have no covariance either, through [`ModelV1`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Feature names and how they come from raw columns.
    recipe: Recipe,
    /// One weight per feature, in recipe order.
    coefficients: Vec<f64>,
    /// The constant term.
    intercept: f64,
    /// Training rows (with positive weight).
    n_train: u64,
    /// Weighted training mean of each feature (for bias correction after quantisation).
    feature_mean: Vec<f64>,
    /// Smallest training value of each feature.
    feature_min: Vec<f64>,
    /// Largest training value of each feature.
    feature_max: Vec<f64>,
    /// Rank and condition of the solve.
    diagnostics: Diagnostics,
    /// Whether an intercept was fitted (`false`: the intercept is 0 and stays 0).
    fit_intercept: bool,
    /// The ridge penalty it was fitted with (0: least squares).
    alpha: f64,
    /// What prediction intervals need (least squares with residual degrees of freedom only).
    covariance: Option<Covariance>,
    /// The training rows' distributions, which drift is measured against (format version 3;
    /// none in older files; from statistics files, without the predictions').
    distributions: Option<Box<TrainingDistributions>>,
}

/// A model as a version 2 file holds it: a version 3 model without its last element, the
/// distributions. (A version 3 payload is one element longer, so a header damaged from 3 to 2
/// does not pass for a version 2 file.)
#[derive(Deserialize)]
pub(crate) struct ModelV2 {
    recipe: Recipe,
    coefficients: Vec<f64>,
    intercept: f64,
    n_train: u64,
    feature_mean: Vec<f64>,
    feature_min: Vec<f64>,
    feature_max: Vec<f64>,
    diagnostics: Diagnostics,
    fit_intercept: bool,
    alpha: f64,
    covariance: Option<Covariance>,
}

impl From<ModelV2> for Model {
    fn from(v: ModelV2) -> Self {
        Self {
            recipe: v.recipe,
            coefficients: v.coefficients,
            intercept: v.intercept,
            n_train: v.n_train,
            feature_mean: v.feature_mean,
            feature_min: v.feature_min,
            feature_max: v.feature_max,
            diagnostics: v.diagnostics,
            fit_intercept: v.fit_intercept,
            alpha: v.alpha,
            covariance: v.covariance,
            distributions: None,
        }
    }
}

/// A model as a version 1 file holds it. The payload is positional (MessagePack arrays), so
/// the last element carries both the intercept choice and the penalty: absent for least
/// squares with an intercept, `false` without one, `[fit_intercept, alpha]` for ridge.
#[derive(Deserialize)]
pub(crate) struct ModelV1 {
    recipe: Recipe,
    coefficients: Vec<f64>,
    intercept: f64,
    n_train: u64,
    feature_mean: Vec<f64>,
    feature_min: Vec<f64>,
    feature_max: Vec<f64>,
    diagnostics: Diagnostics,
    #[serde(default = "Fit::default")]
    fit_intercept: Fit,
}

/// The last element of a version 1 model's payload.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(untagged)]
enum Fit {
    /// Least squares, with an intercept or not.
    Intercept(bool),
    /// Ridge: the intercept choice and the penalty.
    Ridge(bool, f64),
}

impl Fit {
    fn default() -> Self {
        Self::Intercept(true)
    }
}

impl From<ModelV1> for Model {
    fn from(w: ModelV1) -> Self {
        let (fit_intercept, alpha) = match w.fit_intercept {
            Fit::Intercept(yes) => (yes, 0.0),
            Fit::Ridge(yes, alpha) => (yes, alpha),
        };
        Self {
            recipe: w.recipe,
            coefficients: w.coefficients,
            intercept: w.intercept,
            n_train: w.n_train,
            feature_mean: w.feature_mean,
            feature_min: w.feature_min,
            feature_max: w.feature_max,
            diagnostics: w.diagnostics,
            fit_intercept,
            alpha,
            covariance: None,
            distributions: None,
        }
    }
}

pub(crate) fn yes() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
pub(crate) fn is_true(value: &bool) -> bool {
    *value
}

impl Model {
    /// The ridge penalty it was fitted with (0: least squares).
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Feature names and how they come from raw columns.
    pub fn recipe(&self) -> &Recipe {
        &self.recipe
    }

    /// One weight per feature, in recipe order.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// The constant term (0 for a model without an intercept).
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// Training rows (with positive weight).
    pub fn n_train(&self) -> u64 {
        self.n_train
    }

    /// Weighted training mean of each feature.
    pub fn feature_mean(&self) -> &[f64] {
        &self.feature_mean
    }

    /// Smallest training value of each feature.
    pub fn feature_min(&self) -> &[f64] {
        &self.feature_min
    }

    /// Largest training value of each feature.
    pub fn feature_max(&self) -> &[f64] {
        &self.feature_max
    }

    /// Rank and condition of the solve.
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    /// Whether an intercept was fitted.
    pub fn fit_intercept(&self) -> bool {
        self.fit_intercept
    }

    /// What prediction intervals need, when the file carries it (least-squares models of
    /// format version 2 with residual degrees of freedom).
    pub fn covariance(&self) -> Option<&Covariance> {
        self.covariance.as_ref()
    }

    /// The prediction intervals of `level` (e.g. 0.95), or why there are none.
    ///
    /// ```
    /// use linreg::LinearRegression;
    /// use nalgebra::{DMatrix, DVector};
    /// let x = DMatrix::from_row_slice(4, 1, &[0.0, 1.0, 2.0, 3.0]);
    /// let y = DVector::from_vec(vec![1.0, 3.2, 4.9, 7.0]);
    /// let model = LinearRegression::new().fit(&x, &y).unwrap();
    /// let interval = model.bands(0.95).unwrap().interval(&[1.5], model.predict_row(&[1.5]));
    /// assert!(interval.obs_ci_lower < interval.mean_ci_lower);
    /// assert!(model.bands(1.5).is_err());
    /// ```
    pub fn bands(&self, level: f64) -> Result<Bands> {
        crate::interval::check_level(level)?;
        match &self.covariance {
            Some(c) => c.bands(&self.feature_mean, level),
            None => Err(Error::NoCovariance(self.why_no_covariance())),
        }
    }

    pub(crate) fn why_no_covariance(&self) -> String {
        let k = self.coefficients.len() as u64 + u64::from(self.fit_intercept);
        if self.alpha != 0.0 {
            format!(
                "the model was fitted with a ridge penalty (alpha {}): its estimates are biased and it has no prediction intervals; train without --alpha",
                self.alpha
            )
        } else if self.n_train <= k {
            format!(
                "the model has no residual degrees of freedom ({} rows for {k} parameters): no prediction intervals",
                self.n_train
            )
        } else {
            String::from(
                "the model file carries no covariance (it predates format version 2): train the model again to get prediction intervals",
            )
        }
    }

    /// The training rows' distributions, when the model file carries them.
    pub fn distributions(&self) -> Option<&TrainingDistributions> {
        self.distributions.as_deref()
    }

    /// The distributions, or why there are none, in one line.
    pub fn require_distributions(&self) -> Result<&TrainingDistributions> {
        self.distributions.as_deref().ok_or_else(|| {
            Error::Drift(String::from(
                "the model file carries no training distributions (it predates format version 3, was trained with --no-distributions, or was fitted by Python's LinearRegression or from statistics kept without them): train it with cali-reg train to measure drift against it",
            ))
        })
    }

    /// This model with its training rows' distributions (one per feature, in order).
    pub fn with_distributions(mut self, distributions: TrainingDistributions) -> Result<Self> {
        distributions.validate(self.coefficients.len())?;
        self.distributions = Some(Box::new(distributions));
        Ok(self)
    }

    /// This model with the distributions of the statistics it was fitted on, where they kept
    /// their columns' sketches (the features' and the target's), and of `prediction`, a sketch
    /// of its predictions of those rows where one was made (a second pass); unchanged when the
    /// statistics kept none.
    pub fn with_sketched_distributions(
        self,
        stats: &SufficientStats,
        prediction: Option<&Sketch>,
    ) -> Result<Self> {
        match stats.sketches() {
            Some(columns) => self.with_distributions(TrainingDistributions::of_sketches(
                columns,
                prediction,
                DEFAULT_BINS,
            )?),
            None => Ok(self),
        }
    }

    /// This model with its training predictions' distribution from `prediction`, a sketch of
    /// them, added to the features' and the target's it carries (a cluster's second job).
    pub fn with_prediction_sketch(mut self, prediction: &Sketch) -> Result<Self> {
        let prediction = Distribution::of_sketch(prediction, DEFAULT_BINS)?;
        let Some(distributions) = &mut self.distributions else {
            return Err(Error::Drift(
                "a predictions' distribution without the features' to go with it".into(),
            ));
        };
        distributions.prediction = Some(prediction);
        distributions.validate(self.coefficients.len())?;
        Ok(self)
    }

    /// Feature names, in coefficient order.
    pub fn feature_names(&self) -> Vec<String> {
        self.recipe.feature_names()
    }

    /// Predict one row of features. The sum runs in feature order, then adds the intercept, as `X @ coef_ + intercept_`.
    pub fn predict_row(&self, x: &[f64]) -> f64 {
        dot(x, &self.coefficients) + self.intercept
    }

    /// Predict every row of `x`.
    pub fn predict(&self, x: &DMatrix<f64>) -> Result<DVector<f64>> {
        predict_matrix(x, &self.coefficients, self.intercept)
    }

    /// Check a value read from outside (a file): lengths agree and numbers are finite.
    pub fn validate(&self) -> Result<()> {
        check_shape(
            &self.recipe,
            &self.coefficients,
            &self.feature_min,
            &self.feature_max,
        )?;
        if self.feature_mean.len() != self.coefficients.len() {
            return Err(Error::Format(String::from(
                "model has a wrong number of feature means",
            )));
        }
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(Error::Format(String::from(
                "model has a ridge penalty that is negative or not a number",
            )));
        }
        if !self.intercept.is_finite() || self.coefficients.iter().any(|c| !c.is_finite()) {
            return Err(Error::Format(String::from(
                "model has non-finite parameters",
            )));
        }
        if let Some(c) = &self.covariance {
            c.validate(self.coefficients.len())?;
        }
        if let Some(d) = &self.distributions {
            d.validate(self.coefficients.len())?;
        }
        Ok(())
    }
}

pub(crate) fn dot(x: &[f64], w: &[f64]) -> f64 {
    x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>()
}

pub(crate) fn predict_matrix(
    x: &DMatrix<f64>,
    weights: &[f64],
    intercept: f64,
) -> Result<DVector<f64>> {
    same_len("feature columns", weights.len(), x.ncols())?;
    Ok(DVector::from_iterator(
        x.nrows(),
        x.row_iter()
            .map(|row| row.iter().zip(weights).map(|(a, b)| a * b).sum::<f64>() + intercept),
    ))
}

pub(crate) fn check_shape(
    recipe: &Recipe,
    weights: &[f64],
    min: &[f64],
    max: &[f64],
) -> Result<()> {
    let p = recipe.features.len();
    // No fit makes more; and the recipe's own checks (its raw columns, each once) compare
    // features pairwise.
    crate::sufficient_stats::check_feature_count(p)?;
    for (what, got) in [
        ("coefficients", weights.len()),
        ("training minima", min.len()),
        ("training maxima", max.len()),
    ] {
        same_len(what, p, got)?;
    }
    Ok(())
}

/// How an input table's columns feed a model: its features by name, or the raw training layout.
#[derive(Debug, Clone)]
pub struct InputLayout {
    bound: BoundRecipe,
    /// True when the input held the model's features by name (no derivation).
    pub by_feature_name: bool,
}

impl InputLayout {
    /// Match a header against a model's features, then against its recipe's raw columns.
    /// A target column, if present, is ignored.
    pub fn bind(recipe: &Recipe, header: &[String]) -> Result<Self> {
        let names = recipe.feature_names();
        let identity = Recipe::identity(&names, &recipe.target.name);
        if let Ok(bound) = identity.bind(header, false) {
            return Ok(Self {
                bound,
                by_feature_name: true,
            });
        }
        match recipe.bind(header, false) {
            Ok(bound) => Ok(Self {
                bound,
                by_feature_name: false,
            }),
            Err(_) => {
                let lacking = |wanted: Vec<String>| -> Vec<String> {
                    wanted.into_iter().filter(|w| !header.contains(w)).collect()
                };
                let features = lacking(names);
                let raw = lacking(recipe.raw_columns());
                let mut message = format!(
                    "input lacks the model's feature columns {}",
                    features.join(", ")
                );
                if raw != features {
                    message.push_str(&format!(" (or the raw columns {})", raw.join(", ")));
                }
                Err(Error::Columns(message))
            }
        }
    }

    /// Compute the model's features from one input row.
    pub fn features(&self, row_index: usize, raw: &[f64], out: &mut [f64]) -> Result<()> {
        Ok(self.bound.features(row_index, raw, out)?)
    }

    /// Number of features produced.
    pub fn n_features(&self) -> usize {
        self.bound.n_features()
    }

    /// Indices of the input columns that are read (and so must be numeric).
    pub fn used_columns(&self) -> Vec<usize> {
        self.bound.used_columns()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope;

    fn fitted(alpha: f64, intercept: bool) -> Model {
        let x = DMatrix::from_row_slice(5, 2, &[1.0, 2.0, 2.0, 1.0, 3.0, 5.0, 4.0, 3.0, 5.0, 4.0]);
        let y = DVector::from_vec(vec![3.1, 2.9, 8.2, 6.8, 9.1]);
        LinearRegression::new()
            .fit_intercept(intercept)
            .alpha(alpha)
            .fit(&x, &y)
            .unwrap()
    }

    #[test]
    fn version_2_files_load_without_distributions_and_drift_is_refused_in_one_line() {
        let x = DMatrix::from_row_slice(4, 1, &[0.0, 1.0, 2.0, 4.0]);
        let y = DVector::from_vec(vec![1.0, 3.0, 5.0, 8.0]);
        let model = LinearRegression::new().fit(&x, &y).unwrap();
        // A version 2 file: the payload without its last element (written by hand: the
        // header, then the payload as version 2 had it), read back without distributions.
        let v3 = crate::envelope::encode(&model).unwrap();
        let mut payload = v3[20..].to_vec();
        assert_eq!(payload[0], 0x9c, "a 12-element array");
        assert_eq!(payload.pop(), Some(0xc0), "nil: no distributions");
        payload[0] = 0x9b;
        let mut bytes = v3[..20].to_vec();
        bytes[8..10].copy_from_slice(&2_u16.to_le_bytes());
        bytes[12..16].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes[16..20].copy_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        let back: Model = crate::envelope::decode(&bytes).unwrap();
        assert_eq!(back, model);
        let e = back.require_distributions().unwrap_err().to_string();
        assert!(
            e.contains("carries no training distributions") && !e.contains('\n'),
            "{e}"
        );
        // With them, they ride in the file.
        let column = |v: &[f64]| v.to_vec();
        let d = crate::drift::TrainingDistributions::of(
            &[column(&[0.0, 1.0, 2.0, 4.0])],
            &[1.0, 3.0, 5.0, 8.0],
            &[1.0, 3.0, 5.0, 8.0],
            4,
        )
        .unwrap();
        let model = model.with_distributions(d.clone()).unwrap();
        let back: Model =
            crate::envelope::decode(&crate::envelope::encode(&model).unwrap()).unwrap();
        assert_eq!(back.distributions(), Some(&d));
    }

    #[test]
    fn the_penalty_and_the_covariance_ride_in_the_file() {
        for intercept in [true, false] {
            for alpha in [0.0, 2.5] {
                let model = fitted(alpha, intercept);
                let bytes = envelope::encode(&model).unwrap();
                assert_eq!(envelope::version(&bytes), Some(envelope::FORMAT_VERSION));
                let back: Model = envelope::decode(&bytes).unwrap();
                assert_eq!(back, model);
                assert_eq!(back.alpha(), alpha);
                assert_eq!(back.fit_intercept(), intercept);
                // Least squares carries its covariance; ridge has none, and says why.
                assert_eq!(back.covariance().is_some(), alpha == 0.0);
                if alpha != 0.0 {
                    let e = back.bands(0.95).unwrap_err().to_string();
                    assert!(e.contains("ridge penalty (alpha 2.5)"), "{e}");
                }
            }
        }
    }

    /// California's float model as the build before format version 2 wrote it (least squares
    /// with an intercept, version 1): it loads and predicts, and refuses intervals in one line.
    #[test]
    fn a_version_1_file_still_loads_and_refuses_intervals() {
        let bytes = include_bytes!("../tests/fixtures/california-v1.msgpack");
        assert_eq!(envelope::version(bytes), Some(1));
        let model: Model = envelope::decode(bytes).unwrap();
        assert_eq!(model.n_train(), 16512);
        assert!(model.fit_intercept());
        assert_eq!(model.alpha(), 0.0);
        assert!(model.covariance().is_none());
        // The seed split's float coefficient of MedInc, as scikit-learn gives it.
        approx::assert_relative_eq!(
            model.coefficients()[0],
            0.4486749096657172,
            max_relative = 1e-9
        );
        let e = model.bands(0.95).unwrap_err().to_string();
        assert_eq!(
            e,
            "the model file carries no covariance (it predates format version 2): train the model again to get prediction intervals"
        );
        assert!(!e.contains('\n'));
    }

    #[test]
    fn a_penalty_shrinks_the_slopes_and_a_bad_one_is_refused() {
        let plain = fitted(0.0, true);
        let ridge = fitted(10.0, true);
        let norm = |m: &Model| m.coefficients().iter().map(|c| c * c).sum::<f64>();
        assert!(norm(&ridge) < norm(&plain));
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let x = DMatrix::from_row_slice(3, 1, &[1.0, 2.0, 3.0]);
            let y = DVector::from_vec(vec![1.0, 2.0, 2.5]);
            let e = LinearRegression::new().alpha(bad).fit(&x, &y).unwrap_err();
            assert!(matches!(e, Error::Penalty(_)), "{bad}: {e}");
        }
    }
}
