//! What a training run is asked ([`TrainOptions`]) and what it gives ([`Trained`]), whichever
//! path it takes.

use std::path::PathBuf;
use std::time::Instant;

use linreg::envelope::ShardStats;
use linreg::{LinearRegression, Model, SufficientStats};
use serde::Serialize;

use crate::artifacts::{self, LINEAR, TRAIN_STATS};
use crate::data::DataOptions;
use crate::error::Result;
use crate::run_record::{NewFile, RunRecord, Scores, finite};
use crate::split::SplitParams;

/// Tables above this size (read as numbers: `dataset::columnar::size_in_memory`) are trained by
/// streaming.
pub const STREAMING_THRESHOLD: u64 = 256 << 20;

/// How a training run holds rows out.
#[derive(Debug, Clone, PartialEq)]
pub enum HeldOut {
    /// scikit-learn's `train_test_split` (in memory; streaming only with a test share of 0).
    Permutation,
    /// Each row by a hash of its index and the seed (one pass, any size).
    Hash,
    /// The rows of another table; every row of the data trains.
    TestFile(PathBuf),
}

/// Where a training run's rows come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The data table, in memory unless it is larger than [`STREAMING_THRESHOLD`].
    Table,
    /// The data table, read in one pass whatever its size.
    Streaming,
    /// Statistics files written by `cali-reg stats`, merged exactly.
    Statistics(Vec<PathBuf>),
}

/// What a training run does.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The artifacts folder.
    pub artifacts: PathBuf,
    /// The data and its columns.
    pub data: DataOptions,
    /// Where the rows come from.
    pub source: Source,
    /// How rows are held out.
    pub held_out: HeldOut,
    /// The split's seed and test share.
    pub split: SplitParams,
    /// The estimator (intercept or not).
    pub estimator: LinearRegression,
    /// How many runs the history (`runs/`) keeps, this one included ([`crate::history::KEEP`]
    /// by default).
    pub keep: usize,
    /// Choose the ridge penalty by k-fold cross-validation of the training rows (in memory),
    /// instead of the estimator's.
    pub alpha_search: Option<AlphaSearch>,
    /// Keep the training rows' distributions in the model file, for drift (in memory: a sort
    /// of each column; streaming: the columns' sketches in the pass, and a second pass for the
    /// predictions').
    pub distributions: bool,
}

/// A search for the ridge penalty: the candidates and the folds.
#[derive(Debug, Clone, PartialEq)]
pub struct AlphaSearch {
    /// The candidates, each ≥ 0.
    pub alphas: Vec<f64>,
    /// K.
    pub folds: usize,
}

/// What a training run gives, whichever path it took: the same keys in JSON, `null` where a
/// path has no value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trained {
    /// `"train"`.
    pub command: &'static str,
    /// Whether the rows were streamed (or statistics merged).
    pub streaming: bool,
    /// R² of the held-out rows (of the training rows when `in_sample`).
    pub r2: Option<f64>,
    /// RMSE likewise.
    pub rmse: Option<f64>,
    /// MAE likewise (in memory only: statistics give no absolute errors).
    pub mae: Option<f64>,
    /// True when nothing was held out and the training rows were scored.
    pub in_sample: bool,
    /// Whether an intercept was fitted.
    pub fit_intercept: bool,
    /// The weights.
    pub coefficients: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
    /// The features, in coefficient order.
    pub features: Vec<String>,
    /// Rows trained on.
    pub train_rows: u64,
    /// Rows held out.
    pub test_rows: u64,
    /// The split's seed (a permutation or hash split).
    pub seed: Option<u64>,
    /// The split's test share (a permutation or hash split).
    pub test_size: Option<f64>,
    /// How rows were held out, in words.
    pub split: String,
    /// The condition number of the scaled normal equations.
    pub condition_number: f64,
    /// The ridge penalty (0: least squares).
    pub alpha: f64,
    /// The search that chose it (`--alpha auto`), with each candidate's mean squared error.
    pub alpha_search: Option<crate::cv::AlphaChoice>,
    /// The model file written.
    pub model: String,
    /// Its size.
    pub bytes: usize,
}

impl std::fmt::Display for Trained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.r2, self.rmse) {
            (r2, Some(rmse)) => {
                let r2 = r2.unwrap_or(f64::NAN);
                let sample = if self.in_sample {
                    " (in-sample: every row trained)"
                } else {
                    ""
                };
                writeln!(f, "✔ R²: {r2:.4} | RMSE: {rmse:.4}{sample}")?;
            }
            _ => writeln!(
                f,
                "✔ fitted (no test rows: pass --test-data FILE for metrics)"
            )?,
        }
        if let Some(search) = &self.alpha_search {
            writeln!(
                f,
                "✔ Ridge alpha {} chosen by {}-fold cross-validation of the training rows ({})",
                self.alpha,
                search.folds,
                search
                    .candidates
                    .iter()
                    .map(|(a, mse)| format!("alpha {a}: MSE {mse:.6}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        if self.streaming {
            write!(
                f,
                "✔ Model saved to {} ({} bytes; streamed {} training and {} test rows)",
                self.model, self.bytes, self.train_rows, self.test_rows
            )
        } else {
            write!(f, "✔ Model saved to {} ({} bytes)", self.model, self.bytes)
        }
    }
}

/// R² and RMSE from statistics, as the record and [`Trained`] keep them.
pub(crate) fn scores_of(r2_rmse: Option<(f64, f64)>, in_sample: bool) -> Scores {
    Scores {
        r2: r2_rmse.and_then(|m| finite(m.0)),
        rmse: r2_rmse.and_then(|m| finite(m.1)),
        mae: None,
        in_sample: Some(in_sample),
    }
}

/// Commit a training run's model and its training statistics with its record (the run's time
/// noted), and keep the newest runs of the history; the model file's path and size.
pub(crate) fn commit_model(
    options: &TrainOptions,
    record: &mut RunRecord,
    model: &Model,
    stats: &SufficientStats,
    start: Instant,
) -> Result<(String, usize)> {
    let dir = &options.artifacts;
    let path = dir.join(LINEAR);
    let bytes = artifacts::encode(&path, model)?;
    let shard = ShardStats {
        recipe: model.recipe().clone(),
        stats: stats.clone(),
        fit_intercept: model.fit_intercept(),
    };
    let stats_bytes = artifacts::encode(&dir.join(TRAIN_STATS), &shard)?;
    record.note_stage("train", start.elapsed().as_secs_f64());
    record.commit(
        dir,
        &[
            NewFile {
                name: LINEAR,
                bytes: &bytes,
            },
            NewFile {
                name: TRAIN_STATS,
                bytes: &stats_bytes,
            },
        ],
    )?;
    crate::history::prune(dir, options.keep)?;
    Ok((path.display().to_string(), bytes.len()))
}
