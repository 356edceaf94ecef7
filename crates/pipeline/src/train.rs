//! Training: in memory (the permutation split, as scikit-learn's), streaming (one pass, any
//! size), or from merged statistics files; then the model and the record, committed together.
//! Every path gives the same [`Trained`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use linreg::{LinearRegression, Metrics, Model, SufficientStats};
use serde::Serialize;

use crate::artifacts::{self, LINEAR};
use crate::data::DataOptions;
use crate::error::{Error, Result};
use crate::prepared::Prepared;
use crate::progress::Progress;
use crate::run_record::{NewFile, Parameters, RunRecord, Scores, finite};
use crate::split::SplitParams;
use crate::streaming;

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

/// Train, save the model and commit the record. The caller holds the folder's exclusive lock.
pub fn train(options: &TrainOptions, progress: &dyn Progress) -> Result<Trained> {
    let previous = RunRecord::open(&options.artifacts).ok().flatten();
    let streamed =
        |path: Option<&Path>| streaming::train(options, path, previous.as_ref(), progress);
    let located = match &options.source {
        Source::Streaming | Source::Statistics(_) => return streamed(None),
        Source::Table => options.data.locate()?,
    };
    // Located once: its size decides between memory and streaming, and the chosen path reads it.
    if dataset::columnar::size_in_memory(&located.path) > STREAMING_THRESHOLD {
        return streamed(Some(&located.path));
    }
    if options.held_out != HeldOut::Permutation {
        return Err(Error::Options(
            "--split hash and --test-data go with --streaming",
        ));
    }
    let start = Instant::now();
    let prepared = Prepared::load(&options.data, options.split, located, previous.as_ref())?;
    let (model, metrics, in_sample) = fit_and_score(&prepared, &options.estimator)?;
    let parameters = Parameters {
        seed: Some(prepared.params.seed),
        test_size: Some(prepared.params.test_size),
        data: Some(prepared.data_record()),
        target: Some(prepared.table.recipe.target.name.clone()),
        weight: prepared.spec.weight.clone(),
        features: Some(prepared.table.feature_names()),
        train_rows: prepared.split.train.len() as u64,
        test_rows: prepared.split.test.len() as u64,
        fit_intercept: model.fit_intercept(),
        ..Parameters::default()
    };
    let mut record = RunRecord::fresh(parameters);
    record.metrics.float = Some(Scores::of(&metrics, Some(in_sample)));
    let scores = Scores::of(&metrics, None);
    let path = options.artifacts.join(LINEAR);
    let bytes = artifacts::encode(&path, &model)?;
    record.note_stage("train", start.elapsed().as_secs_f64());
    record.commit(
        &options.artifacts,
        &[NewFile {
            name: LINEAR,
            bytes: &bytes,
        }],
    )?;
    Ok(Trained {
        command: "train",
        streaming: false,
        r2: scores.r2,
        rmse: scores.rmse,
        mae: scores.mae,
        in_sample,
        fit_intercept: model.fit_intercept(),
        features: model.feature_names(),
        train_rows: prepared.split.train.len() as u64,
        test_rows: prepared.split.test.len() as u64,
        seed: Some(prepared.params.seed),
        test_size: Some(prepared.params.test_size),
        split: format!(
            "permutation split, seed {}, test size {}",
            prepared.params.seed, prepared.params.test_size
        ),
        condition_number: model.diagnostics().condition_number,
        coefficients: model.coefficients().to_vec(),
        intercept: model.intercept(),
        model: path.display().to_string(),
        bytes: bytes.len(),
    })
}

/// Fit on the training rows and score the test rows; after `--test-size 0` nothing is held
/// out and the training rows are scored (`true`: the figures are in-sample).
fn fit_and_score(
    prepared: &Prepared,
    estimator: &LinearRegression,
) -> Result<(Model, Metrics, bool)> {
    let table = &prepared.table;
    let estimator = estimator.clone().recipe(table.recipe.clone());
    let in_sample = prepared.split.test.is_empty();
    let held_out = || (!in_sample).then(|| (prepared.test(), prepared.test_weights()));
    let stats_of = |rows: &[usize]| -> Result<SufficientStats> {
        let mut stats = SufficientStats::new(table.x.ncols())?;
        let w = table.w.as_ref().map(|w| w.as_slice());
        stats.push_rows_weighted(&table.x, table.y.as_slice(), w, rows)?;
        Ok(stats)
    };
    let rows = &prepared.split.train;
    // A large table: half the training rows, then the test rows' copy, on a second thread (the
    // halves' statistics merge as one pass would make them, up to rounding).
    let (stats, held_out) = if rows.len() >= PARALLEL_ROWS {
        let (first, second) = rows.split_at(rows.len() / 2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| (stats_of(second), held_out()));
            let mut stats = stats_of(first)?;
            let (second, held_out) = other.join().map_err(|_| Error::Thread)?;
            stats.merge(&second?)?;
            Ok::<_, Error>((stats, held_out))
        })?
    } else {
        (stats_of(rows)?, held_out())
    };
    let model = estimator.fit_stats(&stats)?;
    let (x, y, w) = match &held_out {
        Some(((x, y), w)) => (x, y, w.as_ref()),
        None => (&table.x, &table.y, table.w.as_ref()),
    };
    let metrics = Metrics::compute_weighted(
        y.as_slice(),
        model.predict(x)?.as_slice(),
        w.map(|w| w.as_slice()),
    )?;
    Ok((model, metrics, in_sample))
}

/// Training rows from which a second thread shares the fit: below, starting it costs more
/// than it saves.
const PARALLEL_ROWS: usize = 1 << 16;

/// R² and RMSE from statistics, as the record and [`Trained`] keep them.
pub(crate) fn scores_of(r2_rmse: Option<(f64, f64)>, in_sample: bool) -> Scores {
    Scores {
        r2: r2_rmse.and_then(|m| finite(m.0)),
        rmse: r2_rmse.and_then(|m| finite(m.1)),
        mae: None,
        in_sample: Some(in_sample),
    }
}
