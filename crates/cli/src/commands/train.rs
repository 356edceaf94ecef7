//! `cali-reg train`: fit on the training split, report test metrics, save the float model.

use std::time::Instant;

use linreg::{LinearRegression, Metrics, Model, SufficientStats};
use serde_json::json;

use dataset::Locator;

use crate::args::{Common, STREAMING_THRESHOLD, SplitKind, TrainArgs};
use crate::artifacts::{self, LINEAR};
use crate::commands::streaming;
use crate::data::{Prepared, SplitParams};
use crate::output;
use crate::record::Record;

pub fn run(common: &Common, args: &TrainArgs) -> anyhow::Result<()> {
    if args.streaming || !args.from_stats.is_empty() {
        return streaming::train(common, args, None);
    }
    // Located once: its size decides between memory and streaming, and the chosen path reads it.
    let located = Locator::from_env(common.data.as_deref()).locate()?;
    if dataset::columnar::size_in_memory(&located.path) > STREAMING_THRESHOLD {
        return streaming::train(common, args, Some(&located.path));
    }
    if args.split == SplitKind::Hash || args.test_data.is_some() {
        anyhow::bail!("--split hash and --test-data go with --streaming");
    }
    let start = Instant::now();
    // Training starts a new run: its split comes from the command line or the defaults only.
    let prepared = Prepared::load(common, SplitParams::resolve(common, None), located)?;
    let (model, metrics, in_sample) = fit_and_score(&prepared, args)?;
    let mut recorded = json!(metrics);
    recorded["in_sample"] = json!(in_sample);
    let mut parameters = prepared.parameters();
    parameters["fit_intercept"] = json!(model.fit_intercept);
    let path = common.artifacts.join(LINEAR);
    let bytes = artifacts::save(&path, &model)?;
    Record::save_training(
        &common.artifacts,
        parameters,
        Some(recorded),
        &bytes,
        start.elapsed().as_secs_f64(),
    )?;
    if common.json {
        output::json(&json!({
            "command": "train",
            "r2": metrics.r2,
            "rmse": metrics.rmse,
            "mae": metrics.mae,
            "in_sample": in_sample,
            "fit_intercept": model.fit_intercept,
            "coefficients": model.coefficients,
            "intercept": model.intercept,
            "features": model.feature_names(),
            "train_rows": prepared.split.train.len(),
            "test_rows": prepared.split.test.len(),
            "seed": prepared.params.seed,
            "test_size": prepared.params.test_size,
            "condition_number": model.diagnostics.condition_number,
            "model": path.display().to_string(),
            "bytes": bytes.len(),
        }))
    } else {
        print_fit(metrics.r2, metrics.rmse, in_sample)?;
        output::line(format_args!(
            "✔ Model saved to {} ({} bytes)",
            path.display(),
            bytes.len()
        ))
    }
}

/// Fit on the training rows (weighted, with or without an intercept, as asked) and score the
/// test rows; after `--test-size 0` nothing is held out and the training rows are scored
/// (`true`: the figures are in-sample).
fn fit_and_score(prepared: &Prepared, args: &TrainArgs) -> anyhow::Result<(Model, Metrics, bool)> {
    let table = &prepared.table;
    let estimator = LinearRegression {
        fit_intercept: !args.no_intercept,
        recipe: Some(table.recipe.clone()),
    };
    let in_sample = prepared.split.test.is_empty();
    let held_out = || (!in_sample).then(|| (prepared.test(), prepared.test_weights()));
    let stats_of = |rows: &[usize]| {
        let mut stats = SufficientStats::new(table.x.ncols())?;
        let w = table.w.as_ref().map(|w| w.as_slice());
        stats
            .push_rows_weighted(&table.x, table.y.as_slice(), w, rows)
            .map(|()| stats)
    };
    let rows = &prepared.split.train;
    // A large table: half the training rows, then the test rows' copy, on a second thread (the
    // halves' statistics merge as one pass would make them, up to rounding).
    let (stats, held_out) = if rows.len() >= PARALLEL_ROWS {
        let (first, second) = rows.split_at(rows.len() / 2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| (stats_of(second), held_out()));
            let mut stats = stats_of(first)?;
            let (second, held_out) = other
                .join()
                .map_err(|_| anyhow::anyhow!("the fitting thread stopped unexpectedly"))?;
            stats.merge(&second?)?;
            anyhow::Ok((stats, held_out))
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

/// The line of figures every training run prints (the original's format), saying when they
/// are in-sample.
pub fn print_fit(r2: f64, rmse: f64, in_sample: bool) -> anyhow::Result<()> {
    output::line(format_args!(
        "✔ R²: {r2:.4} | RMSE: {rmse:.4}{}",
        if in_sample {
            " (in-sample: every row trained)"
        } else {
            ""
        }
    ))
}
