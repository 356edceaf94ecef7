//! `cali_reg._native`: the Rust side of the Python package `cali_reg` (PyO3 with rust-numpy,
//! abi3 for Python ≥ 3.9). Float64 NumPy arrays are read in place, C- or Fortran-ordered (any
//! other layout is copied once); the interpreter lock is released while rows are accumulated,
//! solved or predicted. Models cross as the bytes of cali-reg's model files, so a model fitted
//! in Python is the file the command line writes, and the other way round; statistics cross as
//! the command line's `.stats` files. The estimator's conventions (scikit-learn's) live in
//! Python (`python/cali_reg/__init__.py`).

use linreg::envelope::{self, ShardStats};
use linreg::{LinearRegression, Model, Predictor, QuantizedModel, Recipe, Sketch, SufficientStats};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A float64 2-D array as the statistics read it, borrowed in place: row-major (C order), or
/// column by column where each column is contiguous (Fortran order, or a pandas frame's rows
/// `iloc[a:b]`, whose columns lie apart); another layout copied to C order.
enum Layout<'a> {
    Rows(std::borrow::Cow<'a, [f64]>),
    Columns(Vec<&'a [f64]>),
}

fn layout<'a>(x: &'a PyReadonlyArray2<'_, f64>) -> Layout<'a> {
    if let (Ok(rows), true) = (x.as_slice(), x.is_c_contiguous()) {
        return Layout::Rows(std::borrow::Cow::Borrowed(rows));
    }
    let view = x.as_array();
    let columns: Option<Vec<&'a [f64]>> = (0..view.ncols())
        .map(|j| view.index_axis_move(numpy::ndarray::Axis(1), j).to_slice())
        .collect();
    match columns {
        Some(columns) => Layout::Columns(columns),
        None => Layout::Rows(std::borrow::Cow::Owned(view.iter().copied().collect())),
    }
}

/// A 1-D float64 array in place, or copied when it is strided.
fn vector<'a>(v: &'a PyReadonlyArray1<'_, f64>) -> std::borrow::Cow<'a, [f64]> {
    match v.as_slice() {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => std::borrow::Cow::Owned(v.as_array().iter().copied().collect()),
    }
}

/// Rows from which a push is split between two threads. Below it the split does not pay: at
/// California's 16,512 rows it made the fit slower (0.26 → 0.38 ms, the second core often busy
/// with the BLAS threads a scikit-learn fit leaves spinning); at 10⁷ rows it halves it.
const SPLIT: usize = 1 << 17;

/// Push the rows of `x` (`n × p`), targets `y` and weights `w` into `stats`: from [`SPLIT`]
/// rows on, the second half on a second thread into statistics of its own, merged after (exact;
/// the halves are fixed by `n` alone, so the result does not depend on the machine, and a
/// frame's columns give the same bits as the rows).
fn push(
    stats: &mut SufficientStats,
    x: &Layout<'_>,
    n: usize,
    y: &[f64],
    w: Option<&[f64]>,
) -> linreg::Result<()> {
    if n < SPLIT || stats.sketches().is_some() {
        return push_range(stats, x, (0, n), y, w);
    }
    let half = n / 2;
    let mut second = SufficientStats::new(stats.n_features())?;
    let (first, other) = std::thread::scope(|scope| {
        let other = scope.spawn(|| push_range(&mut second, x, (half, n), y, w));
        (push_range(stats, x, (0, half), y, w), other.join())
    });
    first?;
    other.map_err(|_| linreg::Error::Drift("a thread pushing rows failed".into()))??;
    stats.merge(&second)
}

/// Push rows `start..end` of `x` (`n` rows in all).
fn push_range(
    stats: &mut SufficientStats,
    x: &Layout<'_>,
    (start, end): (usize, usize),
    y: &[f64],
    w: Option<&[f64]>,
) -> linreg::Result<()> {
    let n = y.len();
    let (y, w) = (&y[start..end], w.map(|w| &w[start..end]));
    match x {
        Layout::Rows(rows) => {
            let p = rows.len() / n.max(1);
            stats.push_batch(&rows[start * p..end * p], y, w)
        }
        Layout::Columns(columns) => {
            let part: Vec<&[f64]> = columns.iter().map(|c| &c[start..end]).collect();
            stats.push_column_slices(&part, y, w)
        }
    }
}

/// What a fit returns to Python: coefficients, intercept, the model file's bytes, the
/// condition number of the solve, the training statistics' bytes (a `.stats` file), which the
/// inference statistics come from, and the parameters (the intercept first where one was
/// fitted, then the coefficients); the arrays are new, built here rather than by NumPy calls
/// from Python.
type Fitted<'py> = (
    Bound<'py, PyArray1<f64>>,
    f64,
    Bound<'py, PyBytes>,
    f64,
    Bound<'py, PyBytes>,
    Bound<'py, PyArray1<f64>>,
);

/// Least squares (ridge with `alpha` > 0) on the rows of `x` (float64, `n × p`), targets `y`,
/// optional sample weights `w`, with or without an intercept; `names` name the features in the
/// model file (`None`: `x0`, `x1`, …).
#[pyfunction]
#[pyo3(signature = (x, y, w, fit_intercept, names, alpha = 0.0))]
fn fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    y: PyReadonlyArray1<'py, f64>,
    w: Option<PyReadonlyArray1<'py, f64>>,
    fit_intercept: bool,
    names: Option<Vec<String>>,
    alpha: f64,
) -> PyResult<Fitted<'py>> {
    let (n, p) = (x.shape()[0], x.shape()[1]);
    let names = names.unwrap_or_else(|| (0..p).map(|j| format!("x{j}")).collect());
    let (rows, y) = (layout(&x), vector(&y));
    let w = w.as_ref().map(vector);
    let estimator = LinearRegression::new()
        .fit_intercept(fit_intercept)
        .alpha(alpha)
        .recipe(Recipe::identity(&names, "y"));
    let (model, stats) = py
        .detach(|| {
            let mut stats = SufficientStats::new(p)?;
            push(&mut stats, &rows, n, &y, w.as_deref())?;
            Ok::<_, linreg::Error>((estimator.fit_stats(&stats)?, stats))
        })
        .map_err(value_error)?;
    let shard = ShardStats {
        recipe: model.recipe().clone(),
        stats,
        fit_intercept,
    };
    fitted(py, &model, &shard)
}

/// A model as a fit returns it to Python, with the statistics it was fitted on.
fn fitted<'py>(py: Python<'py>, model: &Model, stats: &ShardStats) -> PyResult<Fitted<'py>> {
    let bytes = envelope::encode(model).map_err(value_error)?;
    let stats = envelope::encode(stats).map_err(value_error)?;
    let coefficients = model.coefficients();
    let intercept = model.fit_intercept().then_some(model.intercept());
    let params: Vec<f64> = intercept
        .into_iter()
        .chain(coefficients.iter().copied())
        .collect();
    Ok((
        PyArray1::from_slice(py, coefficients),
        model.intercept(),
        PyBytes::new(py, &bytes),
        model.diagnostics().condition_number,
        PyBytes::new(py, &stats),
        PyArray1::from_vec(py, params),
    ))
}

/// The inference statistics of a model file's model fitted on a `.stats` file's rows, with
/// `(1 − alpha)` intervals, as Python dicts and lists (`linreg::Inference`'s fields, NaN where a
/// figure is undefined), and with `table`, statsmodels' summary table of them; `weighted`: the
/// rows had weights.
#[pyfunction]
#[pyo3(signature = (model, stats, alpha, weighted, target = "y", table = false))]
fn inference<'py>(
    py: Python<'py>,
    model: &[u8],
    stats: &[u8],
    alpha: f64,
    weighted: bool,
    target: &str,
    table: bool,
) -> PyResult<(Bound<'py, PyAny>, Option<String>)> {
    let model: Model = envelope::decode(model).map_err(value_error)?;
    let shard: ShardStats = envelope::decode(stats).map_err(value_error)?;
    let inference = linreg::infer(&shard.stats, &model, alpha, weighted).map_err(value_error)?;
    let found = pythonize::pythonize(py, &inference).map_err(value_error)?;
    let method = if weighted { "WLS" } else { "OLS" };
    let weight = weighted.then_some("sample_weight");
    Ok((
        found,
        table.then(|| inference.table(target, method, weight)),
    ))
}

/// What a model file holds, for Python: kind, coefficients, intercept, feature names, whether
/// an intercept was fitted.
type Described = (String, Vec<f64>, f64, Vec<String>, bool);

/// What a model file holds: kind (`"float"` or `"quantised"`), coefficients, intercept, feature
/// names, whether an intercept was fitted. Decoding only reads numbers: no code runs.
#[pyfunction]
fn describe(data: &[u8]) -> PyResult<Described> {
    let predictor = Predictor::decode(data).map_err(value_error)?;
    let fit_intercept = match predictor.model() {
        linreg::AnyModel::Float(m) => m.fit_intercept(),
        linreg::AnyModel::Quantized(_) => true,
    };
    Ok((
        predictor.kind().to_owned(),
        predictor.coefficients().to_vec(),
        predictor.intercept(),
        predictor.recipe().feature_names(),
        fit_intercept,
    ))
}

/// Predict the rows of `x` with the model in `data`, row by row, as the command line and the
/// server do.
#[pyfunction]
fn predict<'py>(
    py: Python<'py>,
    data: &[u8],
    x: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let predictor = Predictor::decode(data).map_err(value_error)?;
    let (n, p) = (x.shape()[0], x.shape()[1]);
    if p != predictor.coefficients().len() {
        return Err(PyValueError::new_err(format!(
            "X has {p} features, but the model takes {}",
            predictor.coefficients().len()
        )));
    }
    let rows = layout(&x);
    let predictions = py.detach(|| match &rows {
        Layout::Rows(rows) => rows
            .chunks_exact(p.max(1))
            .take(n)
            .map(|row| predictor.predict_row(row))
            .collect::<Vec<f64>>(),
        Layout::Columns(columns) => {
            let mut row = vec![0.0; p];
            (0..n)
                .map(|r| {
                    for (v, column) in row.iter_mut().zip(columns) {
                        *v = column[r];
                    }
                    predictor.predict_row(&row)
                })
                .collect()
        }
    });
    Ok(PyArray1::from_vec(py, predictions))
}

/// Predictions and their intervals of `level` for the rows of `x` (an `n × 5` array: the
/// prediction, then [`linreg::INTERVAL_COLUMNS`]); a quantised model borrows the covariance of
/// `float`, the float model it was quantised from.
#[pyfunction]
#[pyo3(signature = (data, x, level, float = None))]
fn predict_interval<'py>(
    py: Python<'py>,
    data: &[u8],
    x: PyReadonlyArray2<'py, f64>,
    level: f64,
    float: Option<&[u8]>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let mut predictor = Predictor::decode(data).map_err(value_error)?;
    if let Some(float) = float {
        let float: Model = envelope::decode(float).map_err(value_error)?;
        // A mismatch is kept in the predictor and raised by `bands` below.
        let _ = predictor.borrow_covariance(&float);
    }
    let bands = predictor.bands(level).map_err(value_error)?;
    let (n, p) = (x.shape()[0], x.shape()[1]);
    if p != predictor.coefficients().len() {
        return Err(PyValueError::new_err(format!(
            "X has {p} features, but the model takes {}",
            predictor.coefficients().len()
        )));
    }
    let x = x.as_array();
    let out = py.detach(|| {
        let mut row = vec![0.0; p];
        let mut out = Vec::with_capacity(n * 5);
        for r in 0..n {
            for (j, v) in row.iter_mut().enumerate() {
                *v = x[(r, j)];
            }
            let prediction = predictor.predict_row(&row);
            out.push(prediction);
            out.extend(bands.interval(&row, prediction).values());
        }
        out
    });
    numpy::ndarray::Array2::from_shape_vec((n, 5), out)
        .map(|a| PyArray2::from_owned_array(py, a))
        .map_err(value_error)
}

/// The uint8 model of a float model file (bias-corrected intercept): its bytes, the weights
/// as decoded and the intercept.
#[pyfunction]
fn quantize<'py>(py: Python<'py>, data: &[u8]) -> PyResult<(Bound<'py, PyBytes>, Vec<f64>, f64)> {
    let model: Model = envelope::decode(data).map_err(value_error)?;
    let quantized = QuantizedModel::quantize(&model).map_err(value_error)?;
    let bytes = envelope::encode(&quantized).map_err(value_error)?;
    Ok((
        PyBytes::new(py, &bytes),
        quantized.coefficients(),
        quantized.intercept(),
    ))
}

/// Mergeable sufficient statistics of a table's rows: the command line's `.stats` files.
#[pyclass(module = "cali_reg._native")]
struct Stats {
    shard: ShardStats,
}

#[pymethods]
impl Stats {
    /// `distributions`: keep each column's sketch, so a model fitted from the statistics (merged
    /// or not) carries the features' and the target's training distributions, for drift.
    #[new]
    #[pyo3(signature = (names, fit_intercept, target = "y", distributions = true))]
    fn new(
        names: Vec<String>,
        fit_intercept: bool,
        target: &str,
        distributions: bool,
    ) -> PyResult<Self> {
        let stats = SufficientStats::new(names.len()).map_err(value_error)?;
        Ok(Self {
            shard: ShardStats {
                recipe: Recipe::identity(&names, target),
                stats: if distributions {
                    stats.sketched()
                } else {
                    stats
                },
                fit_intercept,
            },
        })
    }

    /// Add the rows of `x` with targets `y` and optional weights `w`; all or nothing.
    fn update(
        &mut self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        y: PyReadonlyArray1<'_, f64>,
        w: Option<PyReadonlyArray1<'_, f64>>,
    ) -> PyResult<()> {
        let n = x.shape()[0];
        if x.shape()[1] != self.shard.stats.n_features() {
            return Err(PyValueError::new_err(format!(
                "X has {} features, but the statistics have {}",
                x.shape()[1],
                self.shard.stats.n_features()
            )));
        }
        let (rows, y) = (layout(&x), vector(&y));
        let w = w.as_ref().map(vector);
        let stats = &mut self.shard.stats;
        py.detach(|| push(stats, &rows, n, &y, w.as_deref()))
            .map_err(value_error)
    }

    /// Merge another's rows in (the same features, the same choice of intercept).
    fn merge(&mut self, other: &Self) -> PyResult<()> {
        if other.shard.recipe != self.shard.recipe {
            return Err(PyValueError::new_err(format!(
                "the statistics are of other features ({}) than these ({})",
                other.shard.recipe.feature_names().join(", "),
                self.shard.recipe.feature_names().join(", ")
            )));
        }
        if other.shard.fit_intercept != self.shard.fit_intercept {
            return Err(PyValueError::new_err(
                "the statistics were made for a model with and one without an intercept",
            ));
        }
        self.shard
            .stats
            .merge(&other.shard.stats)
            .map_err(value_error)
    }

    /// The `.stats` file's bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = envelope::encode(&self.shard).map_err(value_error)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Statistics from a `.stats` file's bytes (`cali-reg stats -o FILE` writes them).
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        let shard: ShardStats = envelope::decode(data).map_err(value_error)?;
        Ok(Self { shard })
    }

    /// The fit of these statistics, as [`fit`] returns it.
    fn fit<'py>(&self, py: Python<'py>) -> PyResult<Fitted<'py>> {
        let estimator = LinearRegression::new()
            .fit_intercept(self.shard.fit_intercept)
            .recipe(self.shard.recipe.clone());
        let stats = &self.shard.stats;
        let model = estimator
            .fit_stats(stats)
            .and_then(|m| m.with_sketched_distributions(stats, None))
            .map_err(value_error)?;
        fitted(py, &model, &self.shard)
    }

    /// Whether the statistics keep the columns' sketches (for the training distributions).
    #[getter]
    fn distributions(&self) -> bool {
        self.shard.stats.sketches().is_some()
    }

    /// Whether the rows had weights other than 1, as far as the statistics tell: their total
    /// weight is not their count.
    #[getter]
    fn weighted(&self) -> bool {
        self.shard.stats.weight() != self.shard.stats.rows() as f64
    }

    /// Rows with a positive weight.
    #[getter]
    fn n_rows(&self) -> u64 {
        self.shard.stats.rows()
    }

    /// The features' names.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.shard.recipe.feature_names()
    }

    /// The target's name.
    #[getter]
    fn target(&self) -> String {
        self.shard.recipe.target.name.clone()
    }

    /// Whether the model they are for has an intercept.
    #[getter]
    fn fit_intercept(&self) -> bool {
        self.shard.fit_intercept
    }
}

/// The hash folds (`cali-reg cv --streaming`'s, `dataset::hash_fold`) of `n` rows whose
/// lines are `first_line`, `first_line + 1`, … (a CSV's first row is line 2).
#[pyfunction]
fn hash_folds<'py>(
    py: Python<'py>,
    seed: u64,
    first_line: u64,
    n: u64,
    k: usize,
) -> PyResult<Bound<'py, PyArray1<u32>>> {
    if k < 2 {
        return Err(PyValueError::new_err(format!(
            "{k} folds: cross-validation needs at least 2"
        )));
    }
    let folds = (first_line..first_line + n)
        .map(|line| dataset::hash_fold(seed, line, k) as u32)
        .collect();
    Ok(PyArray1::from_vec(py, folds))
}

/// One fold of [`cross_validate_stats`]: its model file's bytes, train rows, test rows, R², RMSE.
type FoldScore<'py> = (Bound<'py, PyBytes>, u64, u64, f64, f64);

/// Each fold's model solved from the other folds' merged statistics, and scored on the fold's
/// own statistics: `(model file bytes, train rows, test rows, R², RMSE)` per fold.
#[pyfunction]
fn cross_validate_stats<'py>(
    py: Python<'py>,
    folds: Vec<PyRef<'py, Stats>>,
) -> PyResult<Vec<FoldScore<'py>>> {
    let Some(first) = folds.first() else {
        return Err(PyValueError::new_err("no folds"));
    };
    let estimator = LinearRegression::new()
        .fit_intercept(first.shard.fit_intercept)
        .recipe(first.shard.recipe.clone());
    let mut out = Vec::with_capacity(folds.len());
    for (f, fold) in folds.iter().enumerate() {
        if fold.shard.stats.rows() == 0 {
            return Err(PyValueError::new_err(format!(
                "fold {} has no rows: fewer rows than folds",
                f + 1
            )));
        }
        let mut rest = SufficientStats::new(fold.shard.stats.n_features()).map_err(value_error)?;
        for (g, other) in folds.iter().enumerate() {
            if g != f {
                rest.merge(&other.shard.stats).map_err(value_error)?;
            }
        }
        let model = estimator.fit_stats(&rest).map_err(value_error)?;
        let (r2, rmse) = fold
            .shard
            .stats
            .r2_rmse(model.coefficients(), model.intercept())
            .unwrap_or((f64::NAN, f64::NAN));
        let bytes = envelope::encode(&model).map_err(value_error)?;
        out.push((
            PyBytes::new(py, &bytes),
            rest.rows(),
            fold.shard.stats.rows(),
            r2,
            rmse,
        ));
    }
    Ok(out)
}

/// Write `data` to `path` through a temporary file and a rename (the command line's writer:
/// never a half-written file).
#[pyfunction]
fn write_atomically(path: std::path::PathBuf, data: &[u8]) -> PyResult<()> {
    dataset::write_atomically(&path, data)
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))
}

/// The sketch of `values` (finite), as bytes for [`merge_sketches`] and
/// [`with_prediction_sketch`]: a partition's predictions, on a worker.
#[pyfunction]
fn sketch<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let values = vector(&values);
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(PyValueError::new_err(format!("{v} is not a finite number")));
    }
    let mut sketch = Sketch::new();
    py.detach(|| sketch.push_strided(&values, 0, 1));
    Ok(PyBytes::new(
        py,
        &rmp_serde::to_vec(&sketch).map_err(value_error)?,
    ))
}

/// Sketches' bytes merged into one's.
#[pyfunction]
#[pyo3(signature = (*blobs))]
fn merge_sketches<'py>(py: Python<'py>, blobs: Vec<Vec<u8>>) -> PyResult<Bound<'py, PyBytes>> {
    let mut merged = Sketch::new();
    for blob in &blobs {
        let sketch: Sketch = rmp_serde::from_slice(blob).map_err(value_error)?;
        merged.merge(&sketch);
    }
    Ok(PyBytes::new(
        py,
        &rmp_serde::to_vec(&merged).map_err(value_error)?,
    ))
}

/// A float model file's bytes with its training predictions' distribution from `sketch` (the
/// model's predictions of its training rows, sketched where they are), beside the features'.
#[pyfunction]
fn with_prediction_sketch<'py>(
    py: Python<'py>,
    model: &[u8],
    sketch: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let decoded: Model = envelope::decode(model).map_err(value_error)?;
    let sketch: Sketch = rmp_serde::from_slice(sketch).map_err(value_error)?;
    let with = decoded
        .with_prediction_sketch(&sketch)
        .map_err(value_error)?;
    Ok(PyBytes::new(
        py,
        &envelope::encode(&with).map_err(value_error)?,
    ))
}

/// The module `cali_reg._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(inference, m)?)?;
    m.add_function(wrap_pyfunction!(describe, m)?)?;
    m.add_function(wrap_pyfunction!(predict, m)?)?;
    m.add_function(wrap_pyfunction!(predict_interval, m)?)?;
    m.add_function(wrap_pyfunction!(hash_folds, m)?)?;
    m.add_function(wrap_pyfunction!(cross_validate_stats, m)?)?;
    m.add_function(wrap_pyfunction!(quantize, m)?)?;
    m.add_function(wrap_pyfunction!(sketch, m)?)?;
    m.add_function(wrap_pyfunction!(merge_sketches, m)?)?;
    m.add_function(wrap_pyfunction!(with_prediction_sketch, m)?)?;
    m.add_class::<Stats>()?;
    m.add_function(wrap_pyfunction!(write_atomically, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_FILE", envelope::MAX_FILE)?;
    Ok(())
}
