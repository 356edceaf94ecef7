//! The examples that end each subcommand's `--help` (clap's `after_help`), and the short usage
//! that `cali-reg` prints when it is given no arguments. A test parses every example line, so
//! none of them can name an option that does not exist.

/// Printed by `cali-reg` without arguments, instead of the full help.
#[cfg(feature = "train")]
pub const SHORT_USAGE: &str = "\
cali-reg: linear regression on California Housing (or your own table), quantised to uint8

Usage: cali-reg <COMMAND> [OPTIONS]

  cali-reg train      fit the model on the training split and save it in artifacts/
  cali-reg predict    predict five sample rows, or every row of --input FILE
  cali-reg serve      serve the model over HTTP (MLflow's scoring protocol)

`cali-reg --help` lists every command and option; `cali-reg help <COMMAND>` explains one.";

/// The inference-only build's (the image's): it loads models, predicts and serves.
#[cfg(not(feature = "train"))]
pub const SHORT_USAGE: &str = "\
cali-reg (inference only): predict with and serve a cali-reg model file

Usage: cali-reg <COMMAND> [OPTIONS]

  cali-reg predict    predict every row of --input FILE
  cali-reg serve      serve the model over HTTP (MLflow's scoring protocol)
  cali-reg inspect    show what a model file holds

`cali-reg --help` lists every command and option; `cali-reg help <COMMAND>` explains one.";

#[cfg(feature = "train")]
pub const TOP: &str = "\
Examples:
  cali-reg train && cali-reg quantize && cali-reg predict
  cali-reg train --data sales.csv --target revenue
  cali-reg serve --quantized --port 8080";

#[cfg(not(feature = "train"))]
pub const TOP: &str = "\
Examples:
  cali-reg predict --quantized --input rows.csv -o predictions.csv
  cali-reg serve --quantized --port 8080";

pub const COMPLETIONS: &str = "\
Examples:
  cali-reg completions bash > /etc/bash_completion.d/cali-reg
  cali-reg completions zsh > ~/.zfunc/_cali-reg";

#[cfg(feature = "train")]
pub const TRAIN: &str = "\
Examples:
  cali-reg train                                   # California Housing, seed 42, 80/20 split
  cali-reg train --data sales.csv --target revenue --features price,ads
  cali-reg train --streaming --split hash --data big.parquet --target y
  cali-reg train --mlflow http://127.0.0.1:5000       # also log the run to an MLflow server";

#[cfg(feature = "train")]
pub const STATS: &str = "\
Examples:
  cali-reg stats --data part-1.csv --target y -o part-1.stats
  cali-reg train --from-stats part-1.stats part-2.stats --target y --test-data held-out.csv";

#[cfg(feature = "columnar")]
pub const CONVERT: &str = "\
Examples:
  cali-reg convert --data big.csv -o big.parquet
  cali-reg convert --data shards/ -o all.parquet --row-group-rows 100000";

pub const QUANTIZE: &str = "\
Examples:
  cali-reg quantize
  cali-reg quantize --artifacts runs/today --json";

#[cfg(feature = "columnar")]
pub const PREDICT: &str = "\
Examples:
  cali-reg predict                                 # the five sample rows of the test split
  cali-reg predict --input houses.csv -o priced.csv
  cali-reg predict --input houses.csv --interval 0.95 -o priced.csv   # with 95% intervals
  cali-reg predict --quantized --input big.parquet -o predictions.parquet";

/// Without Parquet (and, in the image's build, without the data set's sample rows).
#[cfg(not(feature = "columnar"))]
pub const PREDICT: &str = "\
Examples:
  cali-reg predict --input houses.csv -o priced.csv
  cali-reg predict --quantized --interval 0.9 --input - < houses.csv";

#[cfg(feature = "train")]
pub const EVALUATE: &str = "\
Examples:
  cali-reg evaluate
  cali-reg evaluate --quantized --json";

#[cfg(feature = "train")]
pub const REPORT: &str = "\
Examples:
  cali-reg report                                  # also artifacts/report.md and predictions.svg
  cali-reg report --json";

#[cfg(feature = "serve")]
pub const SERVE: &str = "\
Examples:
  cali-reg serve                                   # the float model on 127.0.0.1:8080
  cali-reg serve --quantized --host 0.0.0.0 --port 9000
  cali-reg serve --model model.msgpack --max-body 1048576 --quiet";

#[cfg(feature = "train")]
pub const EXPORT: &str = "\
Examples:
  cali-reg export -o model.onnx
  cali-reg export --quantized -o model.quant.onnx
  cali-reg export --raw -o model.raw.onnx            # takes the training file's raw columns
  cali-reg export --format mlflow -o mlflow-model    # then: mlflow models serve -m mlflow-model";

#[cfg(feature = "train")]
pub const SUMMARY: &str = "\
Examples:
  cali-reg summary                                 # 95% intervals
  cali-reg summary --alpha 0.01 --json";

#[cfg(feature = "train")]
pub const DRIFT: &str = "\
Examples:
  cali-reg drift --data new.csv                    # a table of the measures
  cali-reg drift --data new.csv --md > drift.md
  cali-reg drift --data new.csv --svg drift.svg      # the histograms, a panel per column
  cali-reg drift --data new.csv --fail-above psi=0.2 --fail-above wasserstein=0.1   # exit 3 past them";

#[cfg(feature = "train")]
pub const CV: &str = "\
Examples:
  cali-reg cv                                      # 5 folds of consecutive rows
  cali-reg cv --folds 10 --shuffle --seed 7 --json";

pub const DIFF: &str = "\
Examples:
  cali-reg diff                                    # the last two training runs
  cali-reg diff --md > comment.md                  # Markdown tables for a pull request
  cali-reg diff artifacts/runs/20261205T043512.345Z-1a2b3c4d.json --json";

pub const INSPECT: &str = "\
Examples:
  cali-reg inspect artifacts/linear_model.msgpack
  cali-reg inspect artifacts/quant_model.msgpack --json";
