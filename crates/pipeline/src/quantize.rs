//! `quantize`: uint8 weights with a bias-corrected intercept, from the float model alone,
//! committed with the record.

use std::path::Path;
use std::time::Instant;

use linreg::QuantizedModel;
use serde::Serialize;

use crate::artifacts::{self, QUANTIZED};
use crate::error::Result;
use crate::run_record::{NewFile, RunRecord};

/// The quantised model written, and what it was made from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantized {
    /// `"quantize"`.
    pub command: &'static str,
    /// The float model's weights.
    pub coefficients: Vec<f64>,
    /// The float model's intercept.
    pub intercept: f64,
    /// The uint8 codes.
    pub codes: Vec<u8>,
    /// The codes' scale.
    pub scale: f32,
    /// The codes' zero point.
    pub zero_point: u8,
    /// The weights the codes stand for.
    pub quantized_coefficients: Vec<f64>,
    /// The bias-corrected intercept.
    pub quantized_intercept: f64,
    /// The largest |ŷ − ŷ_q| over the training ranges.
    pub max_deviation_bound: f32,
    /// Bytes of parameters.
    pub parameter_bytes: usize,
    /// The file written.
    pub model: String,
    /// Its size.
    pub bytes: usize,
}

impl std::fmt::Display for Quantized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let exact = |values: &[f64]| {
            let parts: Vec<String> = values.iter().map(|v| format!("{v}")).collect();
            format!("[{}]", parts.join(" "))
        };
        writeln!(f, "✔ Quantised parameters saved")?;
        writeln!(f, "Original coefficients: {}", exact(&self.coefficients))?;
        writeln!(f, "Original intercept: {}", self.intercept)?;
        writeln!(
            f,
            "Codes: {:?} (scale {}, zero point {}); bias-corrected intercept {}",
            self.codes, self.scale, self.zero_point, self.quantized_intercept
        )?;
        write!(
            f,
            "Saved {} ({} bytes, {} of them parameters); worst-case |ŷ − ŷ_q| over the training ranges {:.4}",
            self.model, self.bytes, self.parameter_bytes, self.max_deviation_bound
        )
    }
}

/// Quantise the float model of the artifacts folder `dir` and commit the quantised model with
/// the record. The caller holds the folder's exclusive lock.
pub fn quantize(dir: &Path) -> Result<Quantized> {
    let start = Instant::now();
    let mut record = RunRecord::open_or_empty(dir)?;
    let model = record.load_float(dir)?;
    let quantized = QuantizedModel::quantize(&model)?;
    let path = dir.join(QUANTIZED);
    let bytes = artifacts::encode(&path, &quantized)?;
    record.note_stage("quantize", start.elapsed().as_secs_f64());
    record.commit(
        dir,
        &[NewFile {
            name: QUANTIZED,
            bytes: &bytes,
        }],
    )?;
    let params = quantized.weights().params[0];
    Ok(Quantized {
        command: "quantize",
        quantized_coefficients: quantized.coefficients(),
        quantized_intercept: quantized.intercept(),
        codes: quantized.weights().codes.clone(),
        scale: params.scale,
        zero_point: params.zero_point,
        max_deviation_bound: quantized.max_deviation_bound(),
        parameter_bytes: quantized.parameter_bytes(),
        coefficients: model.coefficients().to_vec(),
        intercept: model.intercept(),
        model: path.display().to_string(),
        bytes: bytes.len(),
    })
}
