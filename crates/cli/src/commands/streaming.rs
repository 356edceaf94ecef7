//! Training on files of any size (`train --streaming`, `--from-stats`, or a file over 256 MiB):
//! one pass of [`crate::accumulate`], the fit from its statistics, test metrics from the test
//! rows' own statistics; and the second reading of held-out rows for `evaluate`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use dataset::{Derivation, Input};
use linreg::envelope::ShardStats;
use linreg::{LinearRegression, Recipe, SufficientStats};
use serde_json::json;

use crate::accumulate::{data_path, pass};
use crate::args::{Common, SplitKind, TrainArgs};
use crate::artifacts::{self, LINEAR};
use crate::data::{SplitParams, StreamedSplit};
use crate::output;
use crate::record::Record;
use linreg::Predictor;

/// `train --streaming`, `train --from-stats`, or a file too large for memory.
/// `data` is the data file when the caller has located it already (`None`: locate it here,
/// unless the statistics come from files).
pub fn train(common: &Common, args: &TrainArgs, data: Option<&Path>) -> anyhow::Result<()> {
    let start = Instant::now();
    // A training run takes the defaults, not the last run's split.
    let SplitParams { seed, test_size } = SplitParams::resolve(common, None);
    dataset::check_split(seed, test_size)?;
    let gathered = gather(common, args, data, (seed, test_size))?;
    let (train, test) = (&gathered.train, &gathered.test);
    let estimator = LinearRegression {
        fit_intercept: gathered.fit_intercept,
        recipe: Some(gathered.recipe.clone()),
    };
    let model = estimator.fit_stats(train)?;
    // Nothing held out (--test-size 0, no test file): the figures are in-sample.
    let in_sample = test.rows() == 0 && args.test_data.is_none() && test_size == 0.0;
    let scored = if in_sample { train } else { test };
    let metrics = scored.r2_rmse(&model.coefficients, model.intercept);

    let path = common.artifacts.join(LINEAR);
    let bytes = artifacts::save(&path, &model)?;
    Record::save_training(
        &common.artifacts,
        json!({ "streaming": true, "data": gathered.source, "split": split_record(args, seed, test_size), "train_rows": train.rows(), "test_rows": test.rows(), "fit_intercept": model.fit_intercept, "weight": common.weight }),
        metrics.map(|(r2, rmse)| json!({ "r2": r2, "rmse": rmse, "in_sample": in_sample })),
        &bytes,
        start.elapsed().as_secs_f64(),
    )?;
    if common.json {
        output::json(&json!({
            "command": "train",
            "streaming": true,
            "r2": metrics.map(|m| m.0),
            "rmse": metrics.map(|m| m.1),
            "in_sample": in_sample,
            "fit_intercept": model.fit_intercept,
            "coefficients": model.coefficients,
            "intercept": model.intercept,
            "features": model.feature_names(),
            "train_rows": train.rows(),
            "test_rows": test.rows(),
            "model": path.display().to_string(),
            "bytes": bytes.len(),
        }))
    } else {
        match metrics {
            Some((r2, rmse)) => super::train::print_fit(r2, rmse, in_sample)?,
            None => output::line(format_args!(
                "✔ fitted (no test rows: pass --test-data FILE for metrics)"
            ))?,
        }
        output::line(format_args!(
            "✔ Model saved to {} ({} bytes; streamed {} training and {} test rows)",
            path.display(),
            bytes.len(),
            train.rows(),
            test.rows()
        ))
    }
}

/// How a streaming run held rows out, as `run.json` records it (and [`StreamedSplit`] reads
/// it back).
fn split_record(args: &TrainArgs, seed: u64, test_size: f64) -> serde_json::Value {
    match (&args.test_data, args.from_stats.is_empty()) {
        (Some(f), _) => json!({ "kind": "test file", "file": f.display().to_string() }),
        (None, true) => json!({ "kind": "hash", "seed": seed, "test_size": test_size }),
        (None, false) => json!({ "kind": "none" }),
    }
}

/// What a streaming training run fits on: its recipe, training and test statistics, and where
/// they came from (for the record).
struct Gathered {
    recipe: Recipe,
    train: SufficientStats,
    test: SufficientStats,
    source: serde_json::Value,
    /// From the command line, or as the statistics files recorded it.
    fit_intercept: bool,
}

/// One pass over the data (hash split or all rows), or merged statistics files; then the test
/// file's rows, if one is given.
fn gather(
    common: &Common,
    args: &TrainArgs,
    data: Option<&Path>,
    (seed, test_size): (u64, f64),
) -> anyhow::Result<Gathered> {
    let mut gathered = if args.from_stats.is_empty() {
        if args.split == SplitKind::Permutation && args.test_data.is_none() && args.streaming {
            bail!(
                "--streaming cannot know the permutation in advance: use --split hash or --test-data FILE"
            );
        }
        let path = match data {
            Some(path) => path.to_path_buf(),
            None => data_path(common)?,
        };
        let held_out = args.test_data.is_none();
        let is_test = move |line: u64| held_out && dataset::hash_is_test(seed, line, test_size);
        let pass = pass(common, &path, None, &is_test)?;
        Gathered {
            source: json!({
                "file": pass.name,
                "sha256": pass.sha256,
                "rows": pass.rows,
                "stamp": crate::data::stamp_json(&path),
            }),
            recipe: pass.recipe,
            train: pass.train,
            test: pass.test,
            fit_intercept: !args.no_intercept,
        }
    } else {
        let merged = merge_stats(&args.from_stats)?;
        if args.no_intercept && merged.fit_intercept {
            bail!(
                "--no-intercept: the statistics files were written for a model with an intercept (run `cali-reg stats --no-intercept`)"
            );
        }
        Gathered {
            test: SufficientStats::new(merged.stats.n_features())?,
            recipe: merged.recipe,
            train: merged.stats,
            source: json!({ "statistics": merged.files }),
            fit_intercept: merged.fit_intercept,
        }
    };
    if let Some(test_file) = &args.test_data {
        let pass = pass(common, test_file, Some(&gathered.recipe), &|_| true)?;
        gathered.test.merge(&pass.test)?;
    }
    Ok(gathered)
}

/// The rows a streaming training run held out, read again: their targets and predictions.
#[derive(Debug)]
pub struct HeldOut {
    pub y: Vec<f64>,
    pub predicted: Vec<f64>,
    /// Their weights, with `--weight`.
    pub w: Option<Vec<f64>>,
    /// The file read.
    pub file: String,
}

/// Read the held-out rows of `split` again and predict them. Every row is checked, as training
/// checked it; only the held-out ones are kept.
pub fn held_out(
    common: &Common,
    split: &StreamedSplit,
    predictor: &Predictor,
) -> anyhow::Result<HeldOut> {
    let (path, is_test): (PathBuf, Box<dyn Fn(u64) -> bool + Sync>) = match split {
        StreamedSplit::Hash { test_size, .. } if *test_size == 0.0 => bail!(
            "the training run fitted on every row (--test-size 0): there are no held-out rows to score"
        ),
        StreamedSplit::Hash { seed, test_size } => {
            let (seed, test_size) = (*seed, *test_size);
            (
                data_path(common)?,
                Box::new(move |line| dataset::hash_is_test(seed, line, test_size)),
            )
        }
        StreamedSplit::TestFile(file) => (file.clone(), Box::new(|_| true)),
        StreamedSplit::NoneHeldOut => bail!(
            "the model was fitted from statistics files without held-out rows: there is no test split to score"
        ),
    };
    let spec = common.spec();
    let input = Input::open(&path, spec.default_columns())?.unhashed();
    let file = input.name().to_owned();
    let derive =
        Derivation::new(&input, predictor.recipe())?.weighted_by(spec.weight.as_deref())?;
    let input = input.reading_only(derive.used());
    let (mut y, mut predicted, mut w) = (Vec::new(), Vec::new(), Vec::new());
    input.for_each_chunk(
        |chunk| {
            let mut raw = vec![0.0; derive.n_columns()];
            let mut features = vec![0.0; derive.n_features()];
            let mut out = (Vec::new(), Vec::new(), Vec::new());
            for (line, record) in chunk.lines() {
                let target = derive.row(line, record, &mut raw, &mut features)?;
                if is_test(line) {
                    out.0.push(target);
                    out.1.push(predictor.predict_row(&features));
                    out.2.push(derive.weight(&raw));
                }
            }
            Ok::<_, anyhow::Error>(out)
        },
        |(ys, ps, ws)| {
            y.extend(ys);
            predicted.extend(ps);
            w.extend(ws);
            Ok(())
        },
    )?;
    if y.is_empty() {
        bail!("{file}: no held-out rows ({})", split.describe());
    }
    let w = derive.is_weighted().then_some(w);
    Ok(HeldOut {
        y,
        predicted,
        w,
        file,
    })
}

/// Statistics files merged: their recipe, statistics, intercept choice and names.
struct Merged {
    recipe: Recipe,
    stats: SufficientStats,
    fit_intercept: bool,
    files: Vec<String>,
}

/// Load and merge statistics files; they must describe the same features, for the same
/// choice of intercept.
fn merge_stats(files: &[PathBuf]) -> anyhow::Result<Merged> {
    let mut merged: Option<ShardStats> = None;
    for file in files {
        let shard: ShardStats = artifacts::load(file, "statistics file")?;
        let Some(first) = &mut merged else {
            merged = Some(shard);
            continue;
        };
        if first.recipe != shard.recipe {
            bail!(
                "{}: its features ({}) differ from the first file's ({})",
                file.display(),
                shard.recipe.feature_names().join(", "),
                first.recipe.feature_names().join(", ")
            );
        }
        if first.fit_intercept != shard.fit_intercept {
            let with = |yes: bool| if yes { "with" } else { "without" };
            bail!(
                "{}: written for a model {} an intercept, the first file for one {} (`cali-reg stats --no-intercept` makes the latter)",
                file.display(),
                with(shard.fit_intercept),
                with(first.fit_intercept)
            );
        }
        first.stats.merge(&shard.stats)?;
    }
    let shard = merged.context("no statistics files given")?;
    Ok(Merged {
        recipe: shard.recipe,
        stats: shard.stats,
        fit_intercept: shard.fit_intercept,
        files: files.iter().map(|f| f.display().to_string()).collect(),
    })
}
