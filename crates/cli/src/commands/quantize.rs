//! `cali-reg quantize`: uint8 weights with a bias-corrected intercept, from the float model alone.

use std::time::Instant;

use linreg::{Model, QuantizedModel};
use serde_json::json;

use crate::args::Common;
use crate::artifacts::{self, LINEAR, QUANTIZED};
use crate::output;
use crate::record::Record;

pub fn run(common: &Common) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut record = Record::open(&common.artifacts)?;
    let model: Model = artifacts::load_checked(&common.artifacts, LINEAR, &record)?;
    let quantized = QuantizedModel::quantize(&model)?;
    let path = common.artifacts.join(QUANTIZED);
    let bytes = artifacts::save(&path, &quantized)?;

    record.artifact(QUANTIZED, &bytes);
    record.stage("quantize", start.elapsed().as_secs_f64());
    record.save()?;

    let params = quantized.weights.params[0];
    if common.json {
        output::json(&json!({
            "command": "quantize",
            "coefficients": model.coefficients,
            "intercept": model.intercept,
            "codes": quantized.weights.codes,
            "scale": params.scale,
            "zero_point": params.zero_point,
            "quantized_coefficients": quantized.coefficients(),
            "quantized_intercept": quantized.intercept,
            "max_deviation_bound": quantized.max_deviation_bound,
            "parameter_bytes": quantized.parameter_bytes(),
            "model": path.display().to_string(),
            "bytes": bytes.len(),
        }))?;
    } else {
        output::line(format_args!("✔ Quantised parameters saved"))?;
        output::line(format_args!(
            "Original coefficients: {}",
            output::exact(&model.coefficients)
        ))?;
        output::line(format_args!("Original intercept: {}", model.intercept))?;
        output::line(format_args!(
            "Codes: {:?} (scale {}, zero point {}); bias-corrected intercept {}",
            quantized.weights.codes, params.scale, params.zero_point, quantized.intercept
        ))?;
        output::line(format_args!(
            "Saved {} ({} bytes, {} of them parameters); worst-case |ŷ − ŷ_q| over the training ranges {:.4}",
            path.display(),
            bytes.len(),
            quantized.parameter_bytes(),
            quantized.max_deviation_bound
        ))?;
    }
    Ok(())
}
