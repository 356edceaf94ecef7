//! `pipeline`: what a cali-reg run does, as functions over typed options and typed results,
//! for the `cali-reg` binary, its server and any other program.
//!
//! - [`RunRecord`]: `run.json`, typed and versioned, and the folder's single commit point
//!   ([`RunRecord::commit`]): readers load only the model files the record names.
//! - [`artifacts`]: file names, bounded reading, encoding, and the folder's [`Lock`].
//! - [`train()`] with [`TrainOptions`] gives a [`Trained`] (the same fields from memory,
//!   streaming and statistics files); [`evaluate()`], [`quantize()`], [`write_stats`],
//!   [`predict_table`], [`predict_samples`], `report` (feature `report`), [`inspect()`],
//!   `convert` (feature `columnar`) and [`scan`] likewise take options and give a result that
//!   serialises to the command's `--json` and displays as its text.
//! - [`Scoring`]: the one checked row predictor (usable features, a finite prediction, values
//!   outside the training ranges counted), for `predict` and the server.
//! - [`Prepared`]: a table in memory with its permutation split; [`pass::pass`]: one pass of a
//!   table into sufficient statistics, in bounded memory.
//!
//! Nothing here parses arguments or prints: the binary turns its arguments into these options
//! and prints the results, as text (their `Display`) or JSON (their `Serialize`).
//!
//! ```
//! use pipeline::{NewFile, RunRecord, Parameters};
//! let dir = tempfile::tempdir().unwrap();
//! let mut record = RunRecord::fresh(Parameters::default());
//! record.commit(dir.path(), &[NewFile { name: "notes.txt", bytes: b"hello" }]).unwrap();
//! let back = RunRecord::open(dir.path()).unwrap().unwrap();
//! assert_eq!(back.read_file(dir.path(), "notes.txt").unwrap().0, b"hello");
//! ```
#![deny(missing_docs)]

pub mod artifacts;
mod convert;
mod cv;
mod data;
mod diff;
mod drift;
mod error;
mod evaluate;
mod export;
pub mod history;
mod inspect;
mod mlflow_model;
pub mod pass;
#[cfg(feature = "report")]
mod plot;
mod predict;
mod prepared;
mod progress;
mod quantize;
#[cfg(feature = "report")]
mod report;
mod run_record;
mod scoring;
mod shard;
mod shortest;
mod split;
mod streaming;
mod summary;
#[cfg(feature = "tracking")]
pub mod tracking;
mod train;
mod training;

pub use artifacts::{LINEAR, Loaded, Lock, PLOT, QUANTIZED, REPORT, TRAIN_STATS};
#[cfg(feature = "columnar")]
pub use convert::convert;
pub use convert::{ConvertOptions, Converted, Scanned, scan};
pub use cv::{AlphaChoice, CrossValidated, CvOptions, Fold, Spread, cross_validate};
pub use data::{DataOptions, Location};
pub use diff::{Change, Diff, DiffOptions, diff};
pub use drift::{ColumnDrift, DriftOptions, DriftReport, Metric, Tallies, Threshold, drift};
pub use error::{Error, Result};
pub use evaluate::{EvaluateOptions, Evaluated, Which, evaluate, load_predictor};
pub use export::{ExportFormat, ExportOptions, Exported, export};
pub use inspect::{Details, Inspected, inspect};
pub use predict::{Predicted, SAMPLES, SampleOptions, Sink, predict_samples, predict_table};
pub use prepared::{Prepared, check_features, sample_rows};
pub use progress::{Progress, Silent};
pub use quantize::{Quantized, quantize};
#[cfg(feature = "report")]
pub use report::{
    ModelRow, ORIGINAL_FLOAT, ORIGINAL_QUANT, Published, PublishedModel, Report, ReportOptions,
    report,
};
pub use run_record::{
    ArtifactEntry, DataRecord, FORMAT, Image, NewFile, Parameters, PipelineStage, RecordedMetrics,
    RunRecord, Scores, Sizes, Stage, StampRecord, StreamedSplit, TableRecord, Tool, TrackingRecord,
};
pub use scoring::{Scoring, Unscorable};
pub use shard::{StatsOptions, StatsWritten, write_stats};
pub use split::{SplitChoice, SplitParams};
pub use streaming::{HeldOutRows, held_out};
pub use summary::{Summary, SummaryOptions, summary};
pub use train::train;
pub use training::{AlphaSearch, HeldOut, STREAMING_THRESHOLD, Source, TrainOptions, Trained};
