//! `cali_reg._native`: the Rust side of the Python package `cali_reg` (PyO3, abi3 for
//! Python ≥ 3.9). Arrays cross as native-endian `float64` bytes with their shape; models cross
//! as the bytes of cali-reg's model files, so a model fitted in Python is the file the command
//! line writes, and the other way round. The estimator's conventions (scikit-learn's) live in
//! Python (`python/cali_reg/__init__.py`).

use linreg::envelope;
use linreg::{LinearRegression, Model, Predictor, QuantizedModel, Recipe};
use nalgebra::{DMatrix, DVector};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// The `f64`s in native-endian bytes, `count` of them.
fn floats(bytes: &[u8], count: usize, what: &str) -> PyResult<Vec<f64>> {
    if bytes.len() != count * 8 {
        return Err(PyValueError::new_err(format!(
            "{what}: {} bytes for {count} float64 values",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|b| f64::from_ne_bytes(b.try_into().unwrap_or([0; 8])))
        .collect())
}

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// What a fit returns to Python: coefficients, intercept, the model file's bytes, the
/// condition number of the solve.
type Fitted<'py> = (Vec<f64>, f64, Bound<'py, PyBytes>, f64);

/// Least squares on `n` rows of `p` features (`x` row-major), targets `y`, optional sample
/// weights `w`, with or without an intercept; `names` name the features in the model file.
#[pyfunction]
#[pyo3(signature = (x, n, p, y, w, fit_intercept, names))]
#[allow(clippy::too_many_arguments)] // the arguments of one array each, as Python passes them
fn fit<'py>(
    py: Python<'py>,
    x: &[u8],
    n: usize,
    p: usize,
    y: &[u8],
    w: Option<&[u8]>,
    fit_intercept: bool,
    names: Vec<String>,
) -> PyResult<Fitted<'py>> {
    let x = DMatrix::from_row_slice(n, p, &floats(x, n * p, "X")?);
    let y = DVector::from_vec(floats(y, n, "y")?);
    let w = w.map(|w| floats(w, n, "sample_weight")).transpose()?;
    let estimator = LinearRegression {
        fit_intercept,
        recipe: Some(Recipe::identity(&names, "y")),
    };
    let model = estimator
        .fit_weighted(&x, &y, w.map(DVector::from_vec).as_ref())
        .map_err(value_error)?;
    let bytes = envelope::encode(&model).map_err(value_error)?;
    Ok((
        model.coefficients.clone(),
        model.intercept,
        PyBytes::new(py, &bytes),
        model.diagnostics.condition_number,
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
        linreg::AnyModel::Float(m) => m.fit_intercept,
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

/// Predict `n` rows of `p` features with the model in `data`, row by row, as the command line
/// and the server do.
#[pyfunction]
fn predict(data: &[u8], x: &[u8], n: usize, p: usize) -> PyResult<Vec<f64>> {
    let predictor = Predictor::decode(data).map_err(value_error)?;
    if p != predictor.coefficients().len() {
        return Err(PyValueError::new_err(format!(
            "X has {p} features, but the model takes {}",
            predictor.coefficients().len()
        )));
    }
    let x = floats(x, n * p, "X")?;
    Ok(x.chunks_exact(p.max(1))
        .take(n)
        .map(|row| predictor.predict_row(row))
        .collect())
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
        quantized.intercept,
    ))
}

/// The module `cali_reg._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(describe, m)?)?;
    m.add_function(wrap_pyfunction!(predict, m)?)?;
    m.add_function(wrap_pyfunction!(quantize, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
