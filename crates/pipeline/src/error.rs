//! What can go wrong in a run. Every variant names the file or the option it concerns; the
//! binary prints the chain of causes on one line.

use std::path::PathBuf;

/// The result of a run's steps.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong in a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Finding, reading or deriving a table.
    #[error(transparent)]
    Data(#[from] dataset::Error),
    /// Fitting, scoring or predicting.
    #[error(transparent)]
    Model(#[from] linreg::Error),
    /// A file of ours (model, statistics) that is damaged, or a model that cannot be encoded.
    #[error("{}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        cause: linreg::Error,
    },
    /// A file that cannot be opened or read; `what` says what it should be.
    #[error("{}: cannot read {what}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What it should be, with a hint how to make it where there is one.
        what: String,
        /// Why.
        #[source]
        cause: std::io::Error,
    },
    /// A folder where a file of ours should be.
    #[error("{} is a directory, not a model file", path.display())]
    Directory {
        /// The folder.
        path: PathBuf,
    },
    /// A file larger than any file of ours (or a device, or an endless pipe).
    #[error("{}: larger than {} MiB, not a cali-reg file", path.display(), limit >> 20)]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The most a file of ours takes, in bytes.
        limit: u64,
    },
    /// The artifacts folder cannot be made or locked.
    #[error("cannot lock {}", dir.display())]
    Lock {
        /// The folder.
        dir: PathBuf,
        /// Why.
        #[source]
        cause: std::io::Error,
    },
    /// A file of the artifacts folder cannot be moved into place.
    #[error("cannot rename {} to {}", from.display(), to.display())]
    Rename {
        /// The file written.
        from: PathBuf,
        /// Its place.
        to: PathBuf,
        /// Why.
        #[source]
        cause: std::io::Error,
    },
    /// A record larger than any record (or a device in its place).
    #[error("{}: larger than {} MiB, not a record of this tool (delete it to start afresh)", path.display(), limit >> 20)]
    RecordTooLarge {
        /// The record.
        path: PathBuf,
        /// The most a record takes, in bytes.
        limit: u64,
    },
    /// A record that does not parse as one.
    #[error("{}: not a run record (delete it to start afresh)", path.display())]
    RecordInvalid {
        /// The record.
        path: PathBuf,
        /// What the parser said.
        #[source]
        cause: serde_json::Error,
    },
    /// A record written by a newer cali-reg.
    #[error("{}: a record of format {found}, newer than this cali-reg's {supported}: use a newer cali-reg, or delete it to start afresh", path.display())]
    RecordNewer {
        /// The record.
        path: PathBuf,
        /// Its format.
        found: u32,
        /// The newest format this cali-reg reads.
        supported: u32,
    },
    /// A model file that is not the one the record names.
    #[error("{} does not match {} (a run was interrupted, or two ran at once): run `cali-reg train` and `cali-reg quantize` again", path.display(), record.display())]
    NotRecorded {
        /// The model file.
        path: PathBuf,
        /// The record.
        record: PathBuf,
    },
    /// A quantised model left from before the last training run.
    #[error("{} was made before the last training run: run `cali-reg quantize`", path.display())]
    StaleQuantized {
        /// The quantised model file.
        path: PathBuf,
    },
    /// Scoring asked of a run that held nothing out.
    #[error(
        "the training run fitted on every row (--test-size 0): there are no held-out rows to score{hint}"
    )]
    NothingHeldOut {
        /// What to do instead, for the command that asked.
        hint: &'static str,
    },
    /// A fit from statistics files, which hold no test rows, asked to score them.
    #[error(
        "the model was fitted from statistics files without held-out rows: there is no test split to score"
    )]
    NoTestSplit,
    /// A command that needs the permutation split after a streaming run.
    #[error(
        "the last training run streamed ({split}); this command needs a permutation split: pass --seed N --test-size F to choose one, or score the held-out rows with `cali-reg evaluate`"
    )]
    Streamed {
        /// How that run held rows out.
        split: String,
    },
    /// The held-out rows of a streaming run, read again, are none.
    #[error("{file}: no held-out rows ({split})")]
    NoHeldOutRows {
        /// The table read.
        file: String,
        /// How rows were held out.
        split: String,
    },
    /// A model and a table with different features.
    #[error("the model's features ({}) differ from the data's ({}); pass the same --target/--features as for training", model.join(", "), data.join(", "))]
    FeaturesDiffer {
        /// The model's.
        model: Vec<String>,
        /// The table's.
        data: Vec<String>,
    },
    /// A table without rows.
    #[error("{file}: no data rows")]
    NoRows {
        /// The table.
        file: String,
    },
    /// Weights that are all zero.
    #[error("{file}: every weight in column {column} is 0")]
    ZeroWeights {
        /// The table.
        file: String,
        /// The weight column.
        column: String,
    },
    /// Statistics files of other features than the first.
    #[error("{}: its features ({}) differ from the first file's ({})", path.display(), found.join(", "), first.join(", "))]
    StatsFeatures {
        /// The file.
        path: PathBuf,
        /// Its features.
        found: Vec<String>,
        /// The first file's.
        first: Vec<String>,
    },
    /// Statistics files for models with and without an intercept.
    #[error("{}: written for a model {} an intercept, the first file for one {} (`cali-reg stats --no-intercept` makes the latter)", path.display(), with(*found), with(!found))]
    StatsIntercept {
        /// The file.
        path: PathBuf,
        /// Whether it was written for a model with an intercept.
        found: bool,
    },
    /// A fit without an intercept asked of statistics written for one with.
    #[error(
        "--no-intercept: the statistics files were written for a model with an intercept (run `cali-reg stats --no-intercept`)"
    )]
    StatsNeedIntercept,
    /// `train --from-stats` without files.
    #[error("no statistics files given")]
    NoStatsFiles,
    /// A second pass over the training rows given another table.
    #[error(
        "{0}; --cov-type reads the training rows again: pass --data with the table the model was trained on"
    )]
    NotTrainingRows(String),
    /// Options that do not go together.
    #[error("{0}")]
    Options(&'static str),
    /// A folder to be written afresh that is already there.
    #[error("{} exists and is not empty: an MLflow model folder is written afresh (remove it, or name another)", path.display())]
    FolderExists {
        /// The folder.
        path: PathBuf,
    },
    /// A file cannot be written.
    #[error("cannot write {what}")]
    Write {
        /// Where to.
        what: String,
        /// Why.
        #[source]
        cause: std::io::Error,
    },
    /// A prediction that is not a number.
    #[error("{file}:{line}: the prediction is {value}, not a finite number")]
    NotFinite {
        /// The table.
        file: String,
        /// Its line.
        line: u64,
        /// The prediction.
        value: f64,
    },
    /// Any other problem of a row, at its place.
    #[error("{file}:{line}")]
    AtLine {
        /// The table.
        file: String,
        /// Its line.
        line: u64,
        /// What is wrong.
        #[source]
        cause: linreg::Error,
    },
    /// An input that names a column the output adds.
    #[error(
        "{file}:1: the input has a column named {column}, which the output adds and a Parquet file cannot hold twice"
    )]
    PredictionColumn {
        /// The table.
        file: String,
        /// The column.
        column: String,
    },
    /// `convert` asked to write something other than Parquet.
    #[error("{}: convert writes Parquet: name the file *.parquet", path.display())]
    NotParquet {
        /// The file named.
        path: PathBuf,
    },
    /// The plot cannot be drawn.
    #[error("cannot draw predictions.svg: {0}")]
    Plot(String),
    /// Tracking asked for in a way that cannot work (a URI with credentials, a half-set
    /// variable): refused before anything runs.
    #[error("{0}")]
    TrackingSetup(String),
    /// The tracking server failed or refused a request; the local run is saved all the same.
    #[error("MLflow server {server}: {what} (the run is saved locally all the same)")]
    Tracking {
        /// The server's URI (it holds no credentials: such URIs are refused).
        server: String,
        /// What failed, scrubbed of credentials.
        what: String,
    },
    /// A number of folds the rows cannot give.
    #[error("--folds {folds}: k-fold cross-validation needs 2 to {rows} folds for {rows} rows")]
    Folds {
        /// The folds asked for.
        folds: usize,
        /// The rows.
        rows: usize,
    },
    /// `diff` without two runs to compare.
    #[error("{}: {found} run(s) in the history; `cali-reg diff` with no argument compares the last two (each `cali-reg train` adds one), or name two run records", folder.display())]
    FewRuns {
        /// The history's folder.
        folder: PathBuf,
        /// The runs in it.
        found: usize,
    },
    /// A model trained before `train` kept its statistics.
    #[error("{}: not there (models trained before cali-reg kept its training statistics have none): run `cali-reg train` again", path.display())]
    NoTrainStats {
        /// The statistics file.
        path: PathBuf,
    },
    /// A run record that is not there.
    #[error("{}: no run record there", path.display())]
    NoRecord {
        /// The file.
        path: PathBuf,
    },
    /// The fitting thread panicked.
    #[error("the fitting thread stopped unexpectedly")]
    Thread,
}

fn with(yes: bool) -> &'static str {
    if yes { "with" } else { "without" }
}
