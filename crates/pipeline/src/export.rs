//! `export`: a model of the artifacts folder as a file other tools load: ONNX, for onnxruntime,
//! or an MLflow model folder around it; taking the model's features or (`raw`) the raw columns
//! its recipe derives them from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost::Message;
use serde::Serialize;

use crate::error::Result;
use crate::evaluate::Which;
use crate::run_record::{DataRecord, RunRecord};

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One ONNX file.
    Onnx,
    /// An MLflow model folder around the ONNX file (`mlflow.pyfunc.load_model`,
    /// `mlflow models serve`).
    Mlflow,
}

/// What to export, and where.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The format.
    pub format: ExportFormat,
    /// The artifacts folder whose record names the model.
    pub artifacts: PathBuf,
    /// The float or the quantised model.
    pub which: Which,
    /// The file (ONNX) or folder (MLflow) to write.
    pub output: PathBuf,
    /// Take the raw columns the recipe reads, and derive the features in the graph.
    pub raw: bool,
}

/// The file written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exported {
    /// `"export"`.
    pub command: &'static str,
    /// The format.
    pub format: ExportFormat,
    /// The model file exported.
    pub model: String,
    /// The file or folder written.
    pub output: String,
    /// Its size (a folder's: its files').
    pub bytes: u64,
    /// True when the graph takes the raw columns and derives the features itself.
    pub raw: bool,
    /// The graph's input columns, in order: the features, or with `raw` the raw columns.
    pub columns: Vec<String>,
    /// The `metadata_props` written beside the feature names.
    pub metadata: BTreeMap<String, String>,
}

impl std::fmt::Display for Exported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "✔ {} → {} ({}, {} bytes): input {} float64 [N, {}] ({}{}), output {} float64 [N, 1]",
            self.model,
            self.output,
            match self.format {
                ExportFormat::Onnx => "ONNX",
                ExportFormat::Mlflow => "MLflow model, ONNX flavour",
            },
            self.bytes,
            onnx::INPUT,
            self.columns.len(),
            if self.raw { "raw columns: " } else { "" },
            self.columns.join(", "),
            onnx::OUTPUT
        )
    }
}

/// Write the model `which` of the folder as an ONNX file, with the data's SHA-256, the model's
/// test metrics, the version and (quantised) its error bound in `metadata_props`. The caller
/// holds the folder's shared lock.
pub fn export(options: &ExportOptions) -> Result<Exported> {
    let dir = &options.artifacts;
    let record = RunRecord::open_or_empty(dir)?;
    let graph = Graph::of(&record, dir, options.which, options.raw)?;
    let size = match options.format {
        ExportFormat::Onnx => {
            dataset::write_atomically(&options.output, &graph.bytes)?;
            graph.bytes.len() as u64
        }
        ExportFormat::Mlflow => {
            let files =
                crate::mlflow_model::files(&graph.bytes, &graph.columns, &graph.metadata, None);
            crate::mlflow_model::write_folder(&options.output, &files)?
        }
    };
    Ok(Exported {
        command: "export",
        format: options.format,
        model: model_path(dir, options.which),
        output: options.output.display().to_string(),
        bytes: size,
        raw: options.raw,
        columns: graph.columns,
        metadata: graph.metadata,
    })
}

/// A model as an ONNX file: its bytes, its input columns and the `metadata_props` beside the
/// feature names.
pub(crate) struct Graph {
    pub bytes: Vec<u8>,
    pub columns: Vec<String>,
    pub metadata: BTreeMap<String, String>,
}

impl Graph {
    /// The model `which` of the folder `dir` that `record` names, taking the features or (`raw`)
    /// the raw columns.
    pub fn of(record: &RunRecord, dir: &Path, which: Which, raw: bool) -> Result<Self> {
        let mut metadata = vec![(String::from("cali_reg_version"), record_version(record))];
        if let Some(DataRecord::Table(table)) = &record.parameters.data {
            metadata.push((String::from("data_sha256"), table.sha256.clone()));
        }
        let scores = match which {
            Which::Float => record.metrics.float,
            Which::Quantized => record.metrics.quantized,
        };
        if let Some(scores) = scores {
            for (key, value) in [
                ("test_r2", scores.r2),
                ("test_rmse", scores.rmse),
                ("test_mae", scores.mae),
            ] {
                if let Some(value) = value {
                    metadata.push((key.to_owned(), value.to_string()));
                }
            }
        }
        let input = if raw {
            onnx::Input::Raw
        } else {
            onnx::Input::Features
        };
        let (proto, columns) = match which {
            Which::Float => {
                let model = record.load_float(dir)?;
                (
                    onnx::float_model(&model, input, &metadata),
                    onnx::input_columns(model.recipe(), input),
                )
            }
            Which::Quantized => {
                let model = record.load_quantized(dir)?;
                metadata.push((
                    String::from("max_deviation_bound"),
                    model.max_deviation_bound().to_string(),
                ));
                (
                    onnx::quantized_model(&model, input, &metadata),
                    onnx::input_columns(model.recipe(), input),
                )
            }
        };
        Ok(Self {
            bytes: proto.encode_to_vec(),
            columns,
            metadata: metadata.into_iter().collect(),
        })
    }
}

/// The version of the tool that wrote the model: the record's, else this one's.
fn record_version(record: &RunRecord) -> String {
    if record.tool.version.is_empty() {
        env!("CARGO_PKG_VERSION").to_owned()
    } else {
        record.tool.version.clone()
    }
}

fn model_path(dir: &Path, which: Which) -> String {
    dir.join(which.file_name()).display().to_string()
}
