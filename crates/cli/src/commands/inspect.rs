//! `cali-reg inspect MODEL`: what a model file holds.

use std::path::Path;

use linreg::envelope::FORMAT_VERSION;
use serde_json::json;

use crate::args::Common;
use crate::artifacts::{predictor_from_bytes, read_bounded, sha256_hex};
use crate::output;
use linreg::AnyModel;

pub fn run(common: &Common, path: &Path) -> anyhow::Result<()> {
    let bytes = read_bounded(path)?;
    let predictor = predictor_from_bytes(path, &bytes)?;
    let recipe = predictor.recipe();
    let names = recipe.feature_names();
    let coefficients = predictor.coefficients();
    let (min, max) = predictor.ranges();
    let (n_train, extra) = match predictor.model() {
        AnyModel::Float(m) => (
            m.n_train,
            json!({
                "rank": m.diagnostics.rank,
                "condition_number": m.diagnostics.condition_number,
                "feature_mean": m.feature_mean,
            }),
        ),
        AnyModel::Quantized(q) => (
            q.n_train,
            json!({
                "codes": q.weights.codes,
                "scale": q.weights.params[0].scale,
                "zero_point": q.weights.params[0].zero_point,
                "parameter_bytes": q.parameter_bytes(),
                "max_deviation_bound": q.max_deviation_bound,
            }),
        ),
    };
    if common.json {
        output::json(&json!({
            "command": "inspect",
            "file": path.display().to_string(),
            "bytes": bytes.len(),
            "sha256": sha256_hex(&bytes),
            "kind": predictor.kind(),
            "format_version": FORMAT_VERSION,
            "target": recipe.target,
            "features": recipe.features,
            "coefficients": coefficients,
            "intercept": predictor.intercept(),
            "train_rows": n_train,
            "feature_min": min,
            "feature_max": max,
            "details": extra,
        }))?;
        return Ok(());
    }
    output::line(format_args!(
        "{}: {} model, format {FORMAT_VERSION}, {} bytes",
        path.display(),
        predictor.kind(),
        bytes.len()
    ))?;
    output::line(format_args!("sha256 {}", sha256_hex(&bytes)))?;
    output::line(format_args!(
        "target {} = {} / {}; trained on {n_train} rows",
        recipe.target.name, recipe.target.column, recipe.target.divisor
    ))?;
    output::line(format_args!(
        "{:<12} {:>24} {:>14} {:>14}  derived from",
        "feature", "coefficient", "train min", "train max"
    ))?;
    for (j, f) in recipe.features.iter().enumerate() {
        let from = f.describe();
        output::line(format_args!(
            "{:<12} {:>24} {:>14} {:>14}  {from}",
            names[j], coefficients[j], min[j], max[j]
        ))?;
    }
    output::line(format_args!(
        "{:<12} {:>24}",
        "intercept",
        predictor.intercept()
    ))?;
    match predictor.model() {
        AnyModel::Float(m) => output::line(format_args!(
            "scaled Gram matrix: rank {}, condition number {:.1}",
            m.diagnostics.rank, m.diagnostics.condition_number
        ))?,
        AnyModel::Quantized(q) => output::line(format_args!(
            "uint8 codes {:?}, scale {}, zero point {}; {} parameter bytes; worst-case |ŷ − ŷ_q| over the training ranges {:.4}",
            q.weights.codes,
            q.weights.params[0].scale,
            q.weights.params[0].zero_point,
            q.parameter_bytes(),
            q.max_deviation_bound
        ))?,
    }
    Ok(())
}
