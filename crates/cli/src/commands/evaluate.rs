//! `cali-reg evaluate`: R², RMSE and MAE of the chosen model on the test split.

use linreg::Metrics;
use serde_json::json;

use crate::args::Common;
use crate::artifacts;
use crate::commands::streaming;
use crate::data::{Prepared, SplitParams, StreamedSplit, warn_if_other_data};
use crate::output;
use crate::record::Record;
use linreg::Predictor;

pub fn run(common: &Common) -> anyhow::Result<()> {
    let record = Record::open(&common.artifacts)?;
    let (predictor, path) =
        artifacts::load_predictor(&common.artifacts, common.quantized, &record)?;
    let scored = match StreamedSplit::recorded(common, &record) {
        Some(split) => held_out(common, &predictor, &split)?,
        None => permutation(common, &predictor, &record)?,
    };
    let m = &scored.metrics;
    if common.json {
        let mut value = json!({
            "command": "evaluate",
            "model": predictor.kind(),
            "file": path.display().to_string(),
            "r2": m.r2,
            "rmse": m.rmse,
            "mae": m.mae,
            "test_rows": scored.rows,
        });
        if let (Some(object), Some(extra)) = (value.as_object_mut(), scored.split.as_object()) {
            object.extend(extra.clone());
        }
        output::json(&value)
    } else {
        output::line(format_args!(
            "✔ R²: {:.4} | RMSE: {:.4} | MAE: {:.4} ({} model, {} {})",
            m.r2,
            m.rmse,
            m.mae,
            predictor.kind(),
            scored.rows,
            scored.rows_are
        ))
    }
}

/// Metrics on some test rows, and what those rows were.
struct Scored {
    metrics: Metrics,
    rows: usize,
    /// How the text names the rows.
    rows_are: String,
    /// What `--json` says of the split.
    split: serde_json::Value,
}

/// On the permutation split of the last in-memory training run (or of --seed/--test-size).
fn permutation(common: &Common, predictor: &Predictor, record: &Record) -> anyhow::Result<Scored> {
    let prepared =
        Prepared::load_recorded(common, SplitParams::resolve(common, Some(record)), record)?;
    prepared.check_model(predictor.recipe())?;
    warn_if_other_data(&prepared, record);
    let (x, y) = prepared.test();
    let w = prepared.test_weights();
    Ok(Scored {
        metrics: Metrics::compute_weighted(
            y.as_slice(),
            predictor.predict(&x)?.as_slice(),
            w.as_ref().map(|w| w.as_slice()),
        )?,
        rows: y.len(),
        rows_are: String::from("test rows"),
        split: json!({ "seed": prepared.params.seed, "test_size": prepared.params.test_size }),
    })
}

/// After a streaming training run: the rows it held out, read again.
fn held_out(
    common: &Common,
    predictor: &Predictor,
    split: &StreamedSplit,
) -> anyhow::Result<Scored> {
    let rows = streaming::held_out(common, split, predictor)?;
    Ok(Scored {
        metrics: Metrics::compute_weighted(&rows.y, &rows.predicted, rows.w.as_deref())?,
        rows: rows.y.len(),
        rows_are: format!("held-out rows: {}", split.describe()),
        split: json!({ "split": split.describe(), "data": rows.file }),
    })
}
