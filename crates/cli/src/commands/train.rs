//! `cali-reg train`: fit on the training split, report test metrics, save the float model.

use std::time::Instant;

use linreg::{LinearRegression, Metrics};
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
    let size = std::fs::metadata(&located.path).map_or(0, |m| m.len());
    if size > STREAMING_THRESHOLD {
        return streaming::train(common, args, Some(&located.path));
    }
    if args.split == SplitKind::Hash || args.test_data.is_some() {
        anyhow::bail!("--split hash and --test-data go with --streaming");
    }
    let start = Instant::now();
    // Training starts a new run: its split comes from the command line or the defaults only.
    let prepared = Prepared::load(common, SplitParams::resolve(common, None), located)?;
    let table = &prepared.table;
    let model = LinearRegression::with_recipe(table.recipe.clone()).fit_rows(
        &table.x,
        &table.y,
        &prepared.split.train,
    )?;
    let (x_test, y_test) = prepared.test();
    let metrics = Metrics::compute(y_test.as_slice(), model.predict(&x_test)?.as_slice())?;

    let path = common.artifacts.join(LINEAR);
    let bytes = artifacts::save(&path, &model)?;
    Record::save_training(
        &common.artifacts,
        prepared.parameters(),
        Some(json!(metrics)),
        &bytes,
        start.elapsed().as_secs_f64(),
    )?;

    if common.json {
        output::json(&json!({
            "command": "train",
            "r2": metrics.r2,
            "rmse": metrics.rmse,
            "mae": metrics.mae,
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
        }))?;
    } else {
        output::line(format_args!(
            "✔ R²: {:.4} | RMSE: {:.4}",
            metrics.r2, metrics.rmse
        ))?;
        output::line(format_args!(
            "✔ Model saved to {} ({} bytes)",
            path.display(),
            bytes.len()
        ))?;
    }
    Ok(())
}
