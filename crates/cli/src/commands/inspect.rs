//! `cali-reg inspect MODEL`: what a model file holds.

use std::fmt::Write;
use std::path::Path;

use linreg::envelope::FORMAT_VERSION;
use linreg::{AnyModel, Predictor};
use serde_json::{Value, json};

use crate::args::Common;
use crate::output;
use dataset::sha256_hex;

pub fn run(common: &Common, path: &Path) -> anyhow::Result<()> {
    let bytes = pipeline::artifacts::read_bounded(path, "file")?;
    let predictor = pipeline::artifacts::predictor(path, &bytes)?;
    if common.json {
        output::json(&as_json(path, &bytes, &predictor))
    } else {
        output::line(format_args!(
            "{}",
            as_text(path, &bytes, &predictor).trim_end()
        ))
    }
}

/// The number of training rows, and what only one kind of model has.
fn particulars(predictor: &Predictor) -> (u64, Value) {
    match predictor.model() {
        AnyModel::Float(m) => (
            m.n_train(),
            json!({
                "rank": m.diagnostics().rank,
                "condition_number": m.diagnostics().condition_number,
                "feature_mean": m.feature_mean(),
            }),
        ),
        AnyModel::Quantized(q) => (
            q.n_train(),
            json!({
                "codes": q.weights().codes,
                "scale": q.weights().params[0].scale,
                "zero_point": q.weights().params[0].zero_point,
                "parameter_bytes": q.parameter_bytes(),
                "max_deviation_bound": q.max_deviation_bound(),
            }),
        ),
    }
}

/// Whether the float model has an intercept (a quantised model keeps the float model's 0).
fn fits_intercept(predictor: &Predictor) -> bool {
    match predictor.model() {
        AnyModel::Float(m) => m.fit_intercept(),
        AnyModel::Quantized(_) => true,
    }
}

fn as_json(path: &Path, bytes: &[u8], predictor: &Predictor) -> Value {
    let recipe = predictor.recipe();
    let (n_train, details) = particulars(predictor);
    let (min, max) = predictor.ranges();
    json!({
        "command": "inspect",
        "file": path.display().to_string(),
        "bytes": bytes.len(),
        "sha256": sha256_hex(bytes),
        "kind": predictor.kind(),
        "format_version": FORMAT_VERSION,
        "target": recipe.target,
        "features": recipe.features,
        "coefficients": predictor.coefficients(),
        "intercept": predictor.intercept(),
        "fit_intercept": fits_intercept(predictor),
        "train_rows": n_train,
        "feature_min": min,
        "feature_max": max,
        "details": details,
    })
}

fn as_text(path: &Path, bytes: &[u8], predictor: &Predictor) -> String {
    let recipe = predictor.recipe();
    let (n_train, _) = particulars(predictor);
    let (min, max) = predictor.ranges();
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "{}: {} model, format {FORMAT_VERSION}, {} bytes",
        path.display(),
        predictor.kind(),
        bytes.len()
    );
    let _ = writeln!(out, "sha256 {}", sha256_hex(bytes));
    let _ = writeln!(
        out,
        "target {} = {} / {}; trained on {n_train} rows",
        recipe.target.name, recipe.target.column, recipe.target.divisor
    );
    let _ = writeln!(
        out,
        "{:<12} {:>24} {:>14} {:>14}  derived from",
        "feature", "coefficient", "train min", "train max"
    );
    let coefficients = predictor.coefficients();
    for (j, (f, name)) in recipe
        .features
        .iter()
        .zip(recipe.feature_names())
        .enumerate()
    {
        let _ = writeln!(
            out,
            "{name:<12} {:>24} {:>14} {:>14}  {}",
            coefficients[j],
            min[j],
            max[j],
            f.describe()
        );
    }
    if fits_intercept(predictor) {
        let _ = writeln!(out, "{:<12} {:>24}", "intercept", predictor.intercept());
    } else {
        let _ = writeln!(
            out,
            "{:<12} {:>24}",
            "intercept", "none (through the origin)"
        );
    }
    let _ = match predictor.model() {
        AnyModel::Float(m) => writeln!(
            out,
            "scaled Gram matrix: rank {}, condition number {:.1}",
            m.diagnostics().rank,
            m.diagnostics().condition_number
        ),
        AnyModel::Quantized(q) => writeln!(
            out,
            "uint8 codes {:?}, scale {}, zero point {}; {} parameter bytes; worst-case |ŷ − ŷ_q| over the training ranges {:.4}",
            q.weights().codes,
            q.weights().params[0].scale,
            q.weights().params[0].zero_point,
            q.parameter_bytes(),
            q.max_deviation_bound()
        ),
    };
    out
}
