//! `cali-reg stats -o FILE`: a table's sufficient statistics, to merge with `train --from-stats`.

use std::path::Path;

use linreg::envelope::ShardStats;
use serde_json::json;

use crate::accumulate::{data_path, pass};
use crate::args::Common;
use crate::artifacts;
use crate::output;

/// `cali-reg stats -o FILE`: the statistics of every row of --data, for a model with an
/// intercept or (`fit_intercept` false) without.
pub fn run(common: &Common, output: &Path, fit_intercept: bool) -> anyhow::Result<()> {
    let path = data_path(common)?;
    let pass = pass(common, &path, None, &|_| false)?;
    let shard = ShardStats {
        recipe: pass.recipe,
        stats: pass.train,
        fit_intercept,
    };
    let bytes = artifacts::save(output, &shard)?;
    if common.json {
        output::json(&json!({
            "command": "stats",
            "rows": pass.rows,
            "file": output.display().to_string(),
            "bytes": bytes.len(),
            "data_sha256": pass.sha256,
            "fit_intercept": fit_intercept,
        }))?;
    } else {
        output::line(format_args!(
            "✔ {} rows of {} → {} ({} bytes)",
            pass.rows,
            pass.name,
            output.display(),
            bytes.len()
        ))?;
    }
    Ok(())
}
