//! Scoring the last training run's model on the rows it held out: its permutation split (or
//! the one asked for), or, after a streaming run, the rows it held out, read again.

use std::path::PathBuf;

use linreg::{AnyModel, Metrics, Predictor};
use serde::Serialize;

use crate::artifacts::{LINEAR, Loaded, QUANTIZED};
use crate::data::DataOptions;
use crate::error::Result;
use crate::prepared::Prepared;
use crate::run_record::RunRecord;
use crate::split::SplitChoice;
use crate::streaming;

/// Which model of the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Which {
    /// The float model.
    #[default]
    Float,
    /// The quantised model.
    Quantized,
}

impl Which {
    /// Its file name in the folder.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Float => LINEAR,
            Self::Quantized => QUANTIZED,
        }
    }
}

/// The model `which` of the artifacts folder, as its record names it, ready to predict; and
/// the path it was read from. `predict`, `evaluate` and the server load a folder's model
/// through it.
pub fn load_predictor(
    artifacts: &std::path::Path,
    record: &RunRecord,
    which: Which,
) -> Result<Loaded> {
    let (bytes, path) = record.read_file(artifacts, which.file_name())?;
    let model: AnyModel = crate::artifacts::model_of(which.file_name(), &path, &bytes)?;
    let mut predictor = Predictor::new(model);
    if which == Which::Quantized
        && let Ok((float, _)) = record.read_file(artifacts, LINEAR)
    {
        crate::artifacts::borrow_covariance(&mut predictor, &float);
    }
    Ok(Loaded {
        predictor,
        sha256: dataset::sha256_hex(&bytes),
        path,
    })
}

/// What `evaluate` asks.
#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    /// The artifacts folder.
    pub artifacts: PathBuf,
    /// The data and its columns.
    pub data: DataOptions,
    /// The split, where given (else the record's).
    pub split: SplitChoice,
    /// Which model.
    pub which: Which,
}

/// A model's scores on held-out rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluated {
    /// `"evaluate"`.
    pub command: &'static str,
    /// `float` or `quantised`.
    pub model: &'static str,
    /// The model file.
    pub file: String,
    /// R².
    pub r2: f64,
    /// RMSE.
    pub rmse: f64,
    /// MAE.
    pub mae: f64,
    /// Rows scored.
    pub test_rows: usize,
    /// The permutation split's seed (null after a streaming run).
    pub seed: Option<u64>,
    /// The permutation split's test share (null after a streaming run).
    pub test_size: Option<f64>,
    /// How a streaming run held rows out, in words (null after an in-memory run).
    pub split: Option<String>,
    /// The table read again after a streaming run.
    pub data: Option<String>,
    /// Warnings for the user (data other than the training data).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl std::fmt::Display for Evaluated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows_are = match &self.split {
            Some(split) => format!("held-out rows: {split}"),
            None => String::from("test rows"),
        };
        write!(
            f,
            "✔ R²: {:.4} | RMSE: {:.4} | MAE: {:.4} ({} model, {} {rows_are})",
            self.r2, self.rmse, self.mae, self.model, self.test_rows
        )
    }
}

impl Evaluated {
    /// The scores of `rows` rows, without the split's particulars.
    fn of(predictor: &Predictor, file: String, m: &Metrics, rows: usize) -> Self {
        Self {
            command: "evaluate",
            model: predictor.kind(),
            file,
            r2: m.r2,
            rmse: m.rmse,
            mae: m.mae,
            test_rows: rows,
            seed: None,
            test_size: None,
            split: None,
            data: None,
            warnings: Vec::new(),
        }
    }
}

/// Score the chosen model on the rows the last training run held out.
pub fn evaluate(options: &EvaluateOptions) -> Result<Evaluated> {
    let record = RunRecord::open_or_empty(&options.artifacts)?;
    let Loaded {
        predictor, path, ..
    } = load_predictor(&options.artifacts, &record, options.which)?;
    let file = path.display().to_string();
    let streamed = record
        .parameters
        .split
        .as_ref()
        .filter(|_| !options.split.is_given());
    if let Some(split) = streamed {
        let rows = streaming::held_out(&options.data, split, &predictor)?;
        let m = Metrics::compute_weighted(&rows.y, &rows.predicted, rows.w.as_deref())?;
        return Ok(Evaluated {
            split: Some(split.to_string()),
            data: Some(rows.file),
            ..Evaluated::of(&predictor, file, &m, rows.y.len())
        });
    }
    let params = options.split.resolve(Some(&record));
    let prepared =
        Prepared::load_recorded(&options.data, params, &record, options.split.is_given())?;
    prepared.check_model(predictor.recipe())?;
    let (x, y) = prepared.test();
    let w = prepared.test_weights();
    let m = Metrics::compute_weighted(
        y.as_slice(),
        predictor.predict(&x)?.as_slice(),
        w.as_ref().map(|w| w.as_slice()),
    )?;
    Ok(Evaluated {
        seed: Some(params.seed),
        test_size: Some(params.test_size),
        warnings: prepared.other_data_warning(&record).into_iter().collect(),
        ..Evaluated::of(&predictor, file, &m, y.len())
    })
}
