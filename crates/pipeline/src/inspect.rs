//! `inspect`: what a model file holds, for people (`Display`) and tools (`Serialize`).

use std::fmt::Write;
use std::path::Path;

use linreg::envelope::FORMAT_VERSION;
use linreg::{AnyModel, FeatureSpec, TargetSpec};
use serde::Serialize;

use crate::artifacts;
use crate::error::Result;

/// What a model file holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspected {
    /// `"inspect"`.
    pub command: &'static str,
    /// The file.
    pub file: String,
    /// Its size.
    pub bytes: usize,
    /// Its SHA-256.
    pub sha256: String,
    /// `float` or `quantised`.
    pub kind: &'static str,
    /// The model-file format.
    pub format_version: u16,
    /// The target and its derivation.
    pub target: TargetSpec,
    /// The features and their derivations.
    pub features: Vec<FeatureSpec>,
    /// The weights.
    pub coefficients: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
    /// Whether the float model has an intercept (a quantised model keeps the float model's 0).
    pub fit_intercept: bool,
    /// Training rows.
    pub train_rows: u64,
    /// Each feature's smallest training value.
    pub feature_min: Vec<f64>,
    /// Each feature's largest training value.
    pub feature_max: Vec<f64>,
    /// What only one kind of model has.
    pub details: Details,
}

/// What only one kind of model has.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Details {
    /// The float model's solve.
    Float {
        /// Rank of the scaled Gram matrix.
        rank: usize,
        /// Its condition number.
        condition_number: f64,
        /// Each feature's training mean.
        feature_mean: Vec<f64>,
        /// The training distributions the file keeps, for drift: `features, target and
        /// predictions`, `features and target` (fitted from statistics files) or `none`.
        distributions: &'static str,
    },
    /// The quantised model's codes.
    Quantized {
        /// The uint8 codes.
        codes: Vec<u8>,
        /// Their scale.
        scale: f32,
        /// Their zero point.
        zero_point: u8,
        /// Bytes of parameters.
        parameter_bytes: usize,
        /// The largest |ŷ − ŷ_q| over the training ranges.
        max_deviation_bound: f32,
    },
}

/// Read and describe the model file at `path`.
pub fn inspect(path: &Path) -> Result<Inspected> {
    let bytes = artifacts::read_bounded(path, "file")?;
    let predictor = artifacts::predictor(path, &bytes)?;
    let recipe = predictor.recipe();
    let (min, max) = predictor.ranges();
    let (train_rows, fit_intercept, details) = match predictor.model() {
        AnyModel::Float(m) => (
            m.n_train(),
            m.fit_intercept(),
            Details::Float {
                rank: m.diagnostics().rank,
                condition_number: m.diagnostics().condition_number,
                feature_mean: m.feature_mean().to_vec(),
                distributions: match m.distributions() {
                    Some(d) if d.prediction.is_some() => "features, target and predictions",
                    Some(_) => "features and target",
                    None => "none",
                },
            },
        ),
        AnyModel::Quantized(q) => (
            q.n_train(),
            true,
            Details::Quantized {
                codes: q.weights().codes.clone(),
                scale: q.weights().params[0].scale,
                zero_point: q.weights().params[0].zero_point,
                parameter_bytes: q.parameter_bytes(),
                max_deviation_bound: q.max_deviation_bound(),
            },
        ),
    };
    Ok(Inspected {
        command: "inspect",
        file: path.display().to_string(),
        bytes: bytes.len(),
        sha256: dataset::sha256_hex(&bytes),
        kind: predictor.kind(),
        format_version: linreg::envelope::version(&bytes).unwrap_or(FORMAT_VERSION),
        target: recipe.target.clone(),
        features: recipe.features.clone(),
        coefficients: predictor.coefficients().to_vec(),
        intercept: predictor.intercept(),
        fit_intercept,
        train_rows,
        feature_min: min.to_vec(),
        feature_max: max.to_vec(),
        details,
    })
}

impl std::fmt::Display for Inspected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text().trim_end())
    }
}

impl Inspected {
    /// The text `inspect` prints.
    fn text(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{}: {} model, format {}, {} bytes",
            self.file, self.kind, self.format_version, self.bytes
        );
        let _ = writeln!(out, "sha256 {}", self.sha256);
        let target = &self.target;
        let _ = writeln!(
            out,
            "target {} = {} / {}; trained on {} rows",
            target.name, target.column, target.divisor, self.train_rows
        );
        let _ = writeln!(
            out,
            "{:<12} {:>24} {:>14} {:>14}  derived from",
            "feature", "coefficient", "train min", "train max"
        );
        for (j, f) in self.features.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:<12} {:>24} {:>14} {:>14}  {}",
                f.name,
                self.coefficients[j],
                self.feature_min[j],
                self.feature_max[j],
                f.describe()
            );
        }
        if self.fit_intercept {
            let _ = writeln!(out, "{:<12} {:>24}", "intercept", self.intercept);
        } else {
            let _ = writeln!(
                out,
                "{:<12} {:>24}",
                "intercept", "none (through the origin)"
            );
        }
        let _ = match &self.details {
            Details::Float {
                rank,
                condition_number,
                distributions,
                ..
            } => writeln!(
                out,
                "scaled Gram matrix: rank {rank}, condition number {condition_number:.1}\ntraining distributions (for drift): {distributions}"
            ),
            Details::Quantized {
                codes,
                scale,
                zero_point,
                parameter_bytes,
                max_deviation_bound,
            } => writeln!(
                out,
                "uint8 codes {codes:?}, scale {scale}, zero point {zero_point}; {parameter_bytes} parameter bytes; worst-case |ŷ − ŷ_q| over the training ranges {max_deviation_bound:.4}"
            ),
        };
        out
    }
}
