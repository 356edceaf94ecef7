//! Command-line arguments (clap, derive API).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::examples;

/// Linear regression on California Housing (or your own table), quantised to uint8.
#[derive(Debug, Parser)]
#[command(
    name = "cali-reg",
    version = VERSION.as_str(),
    max_term_width = 100,
    after_help = examples::TOP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub common: Common,
}

/// `0.1.0 (commit 1a2b3c4d5e6f; features: train, columnar, serve)`.
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(version);

fn version() -> String {
    let features: Vec<&str> = [
        ("train", cfg!(feature = "train")),
        ("columnar", cfg!(feature = "columnar")),
        ("serve", cfg!(feature = "serve")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    format!(
        "{} (commit {}; features: {})",
        env!("CARGO_PKG_VERSION"),
        env!("CALI_REG_COMMIT"),
        if features.is_empty() {
            String::from("none")
        } else {
            features.join(", ")
        }
    )
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct Common {
    /// Data: a CSV with header, cal_housing.data or .tgz, Parquet, Arrow IPC, or a folder or glob of Parquet files; default: $CALI_REG_DATA, the cache, then a verified download
    #[arg(long, global = true, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Folder for model files, run.json and reports
    #[arg(long, global = true, value_name = "DIR", default_value = "artifacts")]
    pub artifacts: PathBuf,
    /// Seed of the train/test split, 0 to 4294967295 [default: the last training run's, else 42]
    #[arg(long, global = true)]
    pub seed: Option<u64>,
    /// Share of rows in the test split, from 0 (fit on every row; metrics are then in-sample) to below 1 [default: the last training run's, else 0.2]
    #[arg(long, global = true)]
    pub test_size: Option<f64>,
    /// Target column of your own CSV (default: California Housing's derivation)
    #[arg(long, global = true, value_name = "COLUMN")]
    pub target: Option<String>,
    /// Feature columns of your own CSV, comma-separated (default: all but the target)
    #[arg(long, global = true, value_name = "A,B,…", value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Column of sample weights in your CSV (scikit-learn's `sample_weight`; not a feature),
    /// for training, statistics and metrics
    #[arg(long, global = true, value_name = "COLUMN")]
    pub weight: Option<String>,
    /// Use the quantised model wherever a model is used
    #[arg(long, global = true)]
    pub quantized: bool,
    /// Print one JSON object instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bar (it only shows when stderr is a terminal anyway)
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

impl Common {
    /// What to read of the data: target, features and weight.
    #[cfg(feature = "train")]
    pub fn spec(&self) -> dataset::Spec {
        dataset::Spec {
            target: self.target.clone(),
            features: self.features.clone(),
            weight: self.weight.clone(),
        }
    }

    /// Where the data is and what to read of it.
    #[cfg(feature = "train")]
    pub fn data(&self) -> pipeline::DataOptions {
        pipeline::DataOptions {
            path: self.data.clone(),
            spec: self.spec(),
        }
    }

    /// The split asked for on the command line.
    #[cfg(feature = "train")]
    pub fn split(&self) -> pipeline::SplitChoice {
        pipeline::SplitChoice {
            seed: self.seed,
            test_size: self.test_size,
        }
    }

    /// The model `--quantized` selects.
    pub fn which(&self) -> pipeline::Which {
        if self.quantized {
            pipeline::Which::Quantized
        } else {
            pipeline::Which::Float
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a completion script for a shell (bash, zsh, fish, elvish, powershell)
    #[command(after_help = examples::COMPLETIONS)]
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), as `cargo xtask man` writes it
    #[command(hide = true)]
    Man,
    /// Fit on the training split, print test R² and RMSE, save the float model
    #[cfg(feature = "train")]
    #[command(after_help = examples::TRAIN)]
    Train(TrainArgs),
    /// Write the sufficient statistics of a (shard of a) table, to merge later with `train --from-stats`
    #[cfg(feature = "train")]
    #[command(after_help = examples::STATS)]
    Stats {
        /// The statistics file to write
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
        /// For a model without an intercept: recorded in the file, and files that differ
        /// refuse to merge
        #[arg(long)]
        no_intercept: bool,
        /// Keep no sketches of the columns (a model fitted from the files then has no
        /// training distributions for `drift`); they make the file tens of KB, not hundreds of
        /// bytes
        #[arg(long)]
        no_distributions: bool,
    },
    /// Write --data (CSV, Parquet, Arrow IPC, a folder or glob of Parquet files) as one Parquet
    /// file, in row groups, in bounded memory
    #[cfg(feature = "columnar")]
    #[command(after_help = examples::CONVERT)]
    Convert {
        /// The Parquet file to write
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
        /// Rows per row group
        #[arg(long, value_name = "N", default_value_t = dataset::columnar::GROUP_ROWS, value_parser = at_least_one)]
        row_group_rows: usize,
    },
    /// Parse every row of --data and count them, nothing else (the reader's speed floor)
    #[cfg(feature = "train")]
    #[command(hide = true)]
    Scan,
    /// Say which data file the other commands would read (path, how it was found, SHA-256),
    /// downloading it only where they would; for tools such as `cargo xtask pipeline`
    #[cfg(feature = "train")]
    #[command(hide = true)]
    Locate,
    /// Quantise the float model's weights to uint8 and save the quantised model
    #[command(after_help = examples::QUANTIZE)]
    Quantize,
    /// Predict the first five test rows, or every row of --input
    #[command(after_help = examples::PREDICT)]
    Predict(PredictArgs),
    /// R², RMSE and MAE of the model on the test split
    #[cfg(feature = "train")]
    #[command(after_help = examples::EVALUATE)]
    Evaluate,
    /// Size and accuracy report of all three models (also artifacts/report.md and predictions.svg)
    #[cfg(feature = "train")]
    #[command(after_help = examples::REPORT)]
    Report,
    /// Serve the model over HTTP with MLflow's scoring protocol
    #[cfg(feature = "serve")]
    #[command(after_help = examples::SERVE)]
    Serve(ServeArgs),
    /// Write the model as a file other tools run: ONNX (float64) for onnxruntime, or an MLflow model folder
    #[cfg(feature = "train")]
    #[command(after_help = examples::EXPORT)]
    Export(ExportArgs),
    /// Standard errors, t, p-values and confidence intervals of the coefficients, R², F,
    /// log-likelihood, AIC and BIC (statsmodels' OLS, or WLS with --weight), from the training
    /// statistics: no pass over the data
    #[cfg(feature = "train")]
    #[command(after_help = examples::SUMMARY)]
    Summary {
        /// The confidence intervals' alpha: 0.05 gives 95% intervals
        #[arg(long, default_value_t = 0.05, value_name = "A")]
        alpha: f64,
        /// A heteroscedasticity-robust covariance (statsmodels' cov_type): reads the training
        /// rows again (in-memory runs), and gives z tests
        #[arg(long, value_enum, value_name = "HC0|HC1|HC2|HC3")]
        cov_type: Option<CovTypeArg>,
    },
    /// How the rows of --data drifted from the model's training rows: for each feature and for
    /// the predictions, PSI, Kolmogorov–Smirnov, Wasserstein-1 over the training SD, the share
    /// outside the training range and the mean shift; one streaming pass
    #[cfg(feature = "train")]
    #[command(after_help = examples::DRIFT)]
    Drift {
        /// Exit with status 3 when a feature's or the predictions' METRIC passes VALUE (psi, ks,
        /// wasserstein, out_of_range, mean_shift: its size); repeatable
        #[arg(long, value_name = "METRIC=VALUE")]
        fail_above: Vec<pipeline::Threshold>,
        /// A Markdown table instead of text
        #[arg(long)]
        md: bool,
        /// Also write an SVG of each column's training and new histograms
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
    /// Exact k-fold cross-validation (folds as scikit-learn's KFold assigns them): each fold's
    /// model solved from the other folds' statistics, its R², RMSE and MAE, their mean and std
    #[cfg(feature = "train")]
    #[command(after_help = examples::CV)]
    Cv {
        /// K, the number of folds
        #[arg(long, default_value_t = 5, value_name = "K")]
        folds: usize,
        /// Shuffle the rows before cutting the folds, with --seed (default 42), as
        /// KFold(shuffle=True, random_state=SEED)
        #[arg(long)]
        shuffle: bool,
        /// Fit without an intercept
        #[arg(long)]
        no_intercept: bool,
        /// Read the table once, in bounded memory, any size: each row's fold by a hash of its
        /// line and --seed (default 42); R² and RMSE from each fold's statistics, no MAE
        #[arg(long, conflicts_with = "shuffle")]
        streaming: bool,
    },
    /// The params and metrics that changed between two runs (default: the last two of the
    /// history), with their deltas
    #[command(after_help = examples::DIFF)]
    Diff(DiffArgs),
    /// Show what a model file holds
    #[command(after_help = examples::INSPECT)]
    Inspect {
        /// The model file
        model: PathBuf,
    },
}

/// A count that must be at least 1.
#[cfg(feature = "columnar")]
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err(String::from("must be at least 1")),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(feature = "train")]
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Read the data in one pass, in bounded memory, feeding sufficient statistics (automatic
    /// for files over 256 MiB); the split is then --split hash or --test-data
    #[arg(long)]
    pub streaming: bool,
    /// With --streaming: `hash` puts each row in the test set by a hash of its index and the seed
    #[arg(long, value_enum, default_value_t = SplitKind::Permutation)]
    pub split: SplitKind,
    /// Test rows from this table (any format --data takes); every row of --data then trains
    #[arg(long, value_name = "FILE")]
    pub test_data: Option<PathBuf>,
    /// Fit from statistics files written by `cali-reg stats` (merged exactly), not from --data
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["streaming"])]
    pub from_stats: Vec<PathBuf>,
    /// Fit without an intercept: the model passes through the origin (scikit-learn's
    /// `fit_intercept=False`); R² stays the centred one of `r2_score`
    #[arg(long)]
    pub no_intercept: bool,
    /// Ridge: penalise the slopes by ALPHA times their squared norm, as scikit-learn's
    /// Ridge(alpha) (the intercept unpenalised, the columns centred); 0 is least squares.
    /// `auto` picks among --alphas by --folds-fold cross-validation of the training rows, as
    /// GridSearchCV(Ridge(), cv=KFold(K), scoring="neg_mean_squared_error") (streaming: folds by
    /// the split's hash)
    #[arg(long, value_name = "ALPHA|auto", default_value = "0", value_parser = penalty)]
    pub alpha: Penalty,
    /// With --alpha auto: the candidates, comma-separated
    #[arg(long, value_name = "A,B,…", value_delimiter = ',', default_values_t = [0.1, 1.0, 10.0])]
    pub alphas: Vec<f64>,
    /// With --alpha auto: K, the folds
    #[arg(long, value_name = "K", default_value_t = 5)]
    pub folds: usize,
    /// Log the run to an MLflow tracking server (without URI: MLFLOW_TRACKING_URI, which alone
    /// also turns logging on): params, metrics, the model file, run.json and an MLflow model
    /// (`runs:/<id>/model`); `quantize` and `report` then add to the same run. Credentials
    /// come from MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and
    /// MLFLOW_TRACKING_PASSWORD, never from the URI; the experiment from MLFLOW_EXPERIMENT_ID
    /// or MLFLOW_EXPERIMENT_NAME. Each request waits 5 s for a connection and 30 s in all
    /// (MLFLOW_HTTP_REQUEST_TIMEOUT=SECONDS); a failure exits 1 after the local run is saved
    #[arg(long, value_name = "URI", num_args = 0..=1)]
    pub mlflow: Option<Option<String>>,
    /// How many runs the history keeps (artifacts/runs/<time>-<model's sha>.json, which
    /// `cali-reg diff` compares), this one included; 0 keeps none
    #[arg(long, value_name = "N", default_value_t = pipeline::history::KEEP)]
    pub keep: usize,
    /// Keep no training distributions in the model file (`drift` then has none to compare
    /// with). They cost a sort of each column in memory; streaming, about 0.3 s per 10⁷ rows
    /// in the pass and a second pass for the predictions'
    #[arg(long)]
    pub no_distributions: bool,
}

#[cfg(feature = "train")]
impl TrainArgs {
    /// The training run these arguments ask for.
    pub fn options(&self, common: &Common) -> pipeline::TrainOptions {
        let source = if !self.from_stats.is_empty() {
            pipeline::Source::Statistics(self.from_stats.clone())
        } else if self.streaming {
            pipeline::Source::Streaming
        } else {
            pipeline::Source::Table
        };
        let held_out = match (&self.test_data, self.split) {
            (Some(file), _) => pipeline::HeldOut::TestFile(file.clone()),
            (None, SplitKind::Hash) => pipeline::HeldOut::Hash,
            (None, SplitKind::Permutation) => pipeline::HeldOut::Permutation,
        };
        pipeline::TrainOptions {
            artifacts: common.artifacts.clone(),
            data: common.data(),
            source,
            held_out,
            // A training run starts afresh: its split comes from the command line or the
            // defaults only.
            split: common.split().for_training(),
            estimator: linreg::LinearRegression::new()
                .fit_intercept(!self.no_intercept)
                .alpha(match self.alpha {
                    Penalty::Fixed(alpha) => alpha,
                    Penalty::Auto => 0.0,
                }),
            keep: self.keep,
            alpha_search: (self.alpha == Penalty::Auto).then(|| pipeline::AlphaSearch {
                alphas: self.alphas.clone(),
                folds: self.folds,
            }),
            distributions: !self.no_distributions,
        }
    }
}

/// `summary --cov-type`.
#[cfg(feature = "train")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum CovTypeArg {
    /// White's
    Hc0,
    /// HC0 × n/(n − k)
    Hc1,
    /// e²/(1 − h)
    Hc2,
    /// e²/(1 − h)²
    Hc3,
}

#[cfg(feature = "train")]
impl CovTypeArg {
    pub fn kind(self) -> linreg::CovType {
        match self {
            Self::Hc0 => linreg::CovType::HC0,
            Self::Hc1 => linreg::CovType::HC1,
            Self::Hc2 => linreg::CovType::HC2,
            Self::Hc3 => linreg::CovType::HC3,
        }
    }
}

/// `--alpha`: a penalty, or `auto`.
#[cfg(feature = "train")]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Penalty {
    /// This penalty.
    Fixed(f64),
    /// Chosen by cross-validation.
    Auto,
}

#[cfg(feature = "train")]
fn penalty(text: &str) -> Result<Penalty, String> {
    if text == "auto" {
        return Ok(Penalty::Auto);
    }
    text.parse::<f64>()
        .map(Penalty::Fixed)
        .map_err(|_| format!("{text:?}: a number ≥ 0, or auto"))
}

/// How rows are put in the test set.
#[cfg(feature = "train")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitKind {
    /// scikit-learn's `train_test_split` (in memory)
    Permutation,
    /// a per-row hash of the row index and the seed (one pass, any file size)
    Hash,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older run: a run record (run.json, a file of artifacts/runs/) or a folder holding
    /// one (default: the next-to-last run of the history)
    pub old: Option<PathBuf>,
    /// The newer run (default: the folder's run.json given OLD, else the last run of the
    /// history)
    pub new: Option<PathBuf>,
    /// Print Markdown tables (for a pull request's comment) instead of text
    #[arg(long, conflicts_with = "json")]
    pub md: bool,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Rows to predict: CSV ('-' for standard input), Parquet, Arrow IPC, or a folder or glob of
    /// Parquet files; the model's feature columns by name, or the raw columns of the training
    /// file; a target column is ignored
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Where to write the rows with a `prediction` column, as CSV or, for a `.parquet` name,
    /// Parquet (default: CSV to standard output; with --json and no --output, the predictions
    /// go to standard output as one JSON object)
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print one line `Sample predictions: […]` instead of the rows
    #[arg(long)]
    pub summary: bool,
    /// Add prediction intervals of this level (0.95: 95%): columns mean_ci_lower and
    /// mean_ci_upper (the fitted mean's), obs_ci_lower and obs_ci_upper (a new observation's),
    /// as statsmodels' get_prediction(X).summary_frame(alpha = 1 − LEVEL); a quantised model
    /// uses the covariance of the float model it was quantised from, found beside it
    #[arg(long, value_name = "LEVEL")]
    pub interval: Option<f64>,
    /// Also write the raw input columns of the sample rows to FILE (what the container image predicts)
    #[cfg(feature = "train")]
    #[arg(long, value_name = "FILE", conflicts_with = "input")]
    pub save_samples: Option<PathBuf>,
}

/// `export`'s own options.
#[cfg(feature = "train")]
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The format to write
    #[arg(long, value_enum, default_value_t = ExportFormat::Onnx)]
    pub format: ExportFormat,
    /// The file to write (with --format mlflow, the folder, which must not exist or be empty)
    #[arg(long, short, value_name = "PATH")]
    pub output: PathBuf,
    /// Take the raw columns of the training file (California's `longitude`, …,
    /// `median_income`) and derive the features in the graph, as `predict --input` does
    #[arg(long)]
    pub raw: bool,
}

/// What `export` writes.
#[cfg(feature = "train")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// ONNX: input X float64 [N, p], output Y float64 [N, 1]; the quantised model keeps its
    /// uint8 codes
    Onnx,
    /// An MLflow model folder (-o names the folder): MLmodel with the onnx and python_function
    /// flavours and a signature of named float64 columns, model.onnx, requirements
    Mlflow,
}

#[cfg(feature = "train")]
impl ExportFormat {
    /// The library's.
    pub fn format(self) -> pipeline::ExportFormat {
        match self {
            Self::Onnx => pipeline::ExportFormat::Onnx,
            Self::Mlflow => pipeline::ExportFormat::Mlflow,
        }
    }
}

/// `serve`'s own options.
#[cfg(feature = "serve")]
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Model file (default: the float or, with --quantized, the quantised model in --artifacts)
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 picks a free one; the address is printed on stderr)
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Largest request body in bytes; larger ones are answered 413
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body: usize,
    /// After SIGTERM or SIGINT, how long requests in flight may take before the server exits
    /// anyway (stalled clients are dropped)
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub grace: f64,
    /// Time a client has to send a request's head, and to start its next request on a kept-alive
    /// connection; the connection is closed after it
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub header_timeout: f64,
    /// Time a client has to send a request's body; later, the answer is 408
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub body_timeout: f64,
    /// Connections open at once (kept below the limit of open files); a new client beyond it
    /// closes the one that has been quiet longest
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,
    /// Minutes of predicted rows the drift figures of /metrics and GET /drift cover (a ring of
    /// per-minute histograms: memory bounded by features × bins × minutes); 0 watches no drift
    #[arg(long, value_name = "MINUTES", default_value_t = serve::drift::DEFAULT_MINUTES, value_parser = clap::value_parser!(u64).range(0..=10080))]
    pub drift_window: u64,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    /// Every example of every `--help` is a command line this build accepts, and every visible
    /// subcommand has two or more.
    #[test]
    fn each_subcommand_help_ends_with_examples_that_parse() {
        let cli = Cli::command();
        let mut commands = vec![&cli];
        commands.extend(cli.get_subcommands().filter(|c| !c.is_hide_set()));
        for command in commands {
            let name = command.get_name();
            if name == "help" {
                continue;
            }
            let help = command
                .get_after_help()
                .unwrap_or_else(|| panic!("`{name} --help` has no examples"))
                .to_string();
            let lines: Vec<&str> = help
                .lines()
                .skip_while(|line| *line != "Examples:")
                .skip(1)
                .collect();
            assert!(lines.len() >= 2, "`{name} --help`: {lines:?}");
            for line in lines {
                // One or more commands joined by `&&`, each up to a comment or a redirection.
                let line = line.split(" #").next().unwrap_or_default();
                for example in line.split("&&") {
                    let example = example
                        .split(['>', '<'])
                        .next()
                        .unwrap_or_default()
                        .trim_end();
                    let words: Vec<&str> = example.split_whitespace().collect();
                    assert_eq!(words.first(), Some(&"cali-reg"), "{name}: {line}");
                    if let Err(e) = Cli::try_parse_from(&words) {
                        panic!("`{name} --help`'s example `{example}` does not parse: {e}");
                    }
                }
            }
        }
    }
}
