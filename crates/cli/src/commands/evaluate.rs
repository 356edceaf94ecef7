//! `cali-reg evaluate`: R², RMSE and MAE of the chosen model on the test split.

use linreg::Metrics;
use serde_json::json;

use crate::args::Common;
use crate::artifacts::Predictor;
use crate::commands::streaming;
use crate::data::{Prepared, SplitParams, StreamedSplit, warn_if_other_data};
use crate::output;
use crate::record::Record;

pub fn run(common: &Common) -> anyhow::Result<()> {
    let (predictor, path) = Predictor::load(&common.artifacts, common.quantized)?;
    let record = Record::open(&common.artifacts)?;
    if let Some(split) = StreamedSplit::recorded(common, &record) {
        return held_out(common, &predictor, &path, &split);
    }
    let prepared =
        Prepared::load_recorded(common, SplitParams::resolve(common, Some(&record)), &record)?;
    prepared.check_model(predictor.recipe())?;
    warn_if_other_data(&prepared, &record);
    let (x, y) = prepared.test();
    let m = Metrics::compute(y.as_slice(), predictor.predict(&x)?.as_slice())?;
    if common.json {
        output::json(&json!({
            "command": "evaluate",
            "model": predictor.kind(),
            "file": path.display().to_string(),
            "r2": m.r2,
            "rmse": m.rmse,
            "mae": m.mae,
            "test_rows": y.len(),
            "seed": prepared.params.seed,
            "test_size": prepared.params.test_size,
        }))?;
    } else {
        output::line(format_args!(
            "✔ R²: {:.4} | RMSE: {:.4} | MAE: {:.4} ({} model, {} test rows)",
            m.r2,
            m.rmse,
            m.mae,
            predictor.kind(),
            y.len()
        ))?;
    }
    Ok(())
}

/// After a streaming training run: score the rows it held out, read again.
fn held_out(
    common: &Common,
    predictor: &Predictor,
    path: &std::path::Path,
    split: &StreamedSplit,
) -> anyhow::Result<()> {
    let rows = streaming::held_out(common, split, predictor)?;
    let m = Metrics::compute(&rows.y, &rows.predicted)?;
    if common.json {
        output::json(&json!({
            "command": "evaluate",
            "model": predictor.kind(),
            "file": path.display().to_string(),
            "r2": m.r2,
            "rmse": m.rmse,
            "mae": m.mae,
            "test_rows": rows.y.len(),
            "split": split.describe(),
            "data": rows.file,
        }))?;
    } else {
        output::line(format_args!(
            "✔ R²: {:.4} | RMSE: {:.4} | MAE: {:.4} ({} model, {} held-out rows: {})",
            m.r2,
            m.rmse,
            m.mae,
            predictor.kind(),
            rows.y.len(),
            split.describe()
        ))?;
    }
    Ok(())
}
