//! `stats`: a table's (or a shard's) sufficient statistics in a file, to merge later with a
//! fit from statistics files.

use std::path::PathBuf;

use linreg::envelope::ShardStats;
use serde::Serialize;

use crate::artifacts;
use crate::data::DataOptions;
use crate::error::Result;
use crate::pass::pass;
use crate::progress::Progress;

/// What `stats` writes.
#[derive(Debug, Clone)]
pub struct StatsOptions {
    /// The data and its columns.
    pub data: DataOptions,
    /// The statistics file to write.
    pub output: PathBuf,
    /// For a model with an intercept, or without (files that differ refuse to merge).
    pub fit_intercept: bool,
    /// Keep the columns' sketches, so a model fitted from the merged files carries the
    /// features' and the target's training distributions.
    pub distributions: bool,
}

/// A statistics file written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsWritten {
    /// `"stats"`.
    pub command: &'static str,
    /// Rows read.
    pub rows: u64,
    /// The file written.
    pub file: String,
    /// Its size.
    pub bytes: usize,
    /// The table's SHA-256.
    pub data_sha256: String,
    /// Whether the statistics are for a model with an intercept.
    pub fit_intercept: bool,
    /// The table's name.
    #[serde(skip)]
    pub data: String,
}

impl std::fmt::Display for StatsWritten {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "✔ {} rows of {} → {} ({} bytes)",
            self.rows, self.data, self.file, self.bytes
        )
    }
}

/// Read every row of the data into statistics and write them to `options.output`.
pub fn write_stats(options: &StatsOptions, progress: &dyn Progress) -> Result<StatsWritten> {
    let path = options.data.locate()?.path;
    let pass = pass(
        &options.data,
        &path,
        None,
        None,
        (&|_| false, options.distributions),
        progress,
    )?;
    let shard = ShardStats {
        recipe: pass.recipe,
        stats: pass.train,
        fit_intercept: options.fit_intercept,
    };
    let bytes = artifacts::save(&options.output, &shard)?;
    Ok(StatsWritten {
        command: "stats",
        rows: pass.rows,
        file: options.output.display().to_string(),
        bytes: bytes.len(),
        data_sha256: pass.sha256,
        fit_intercept: options.fit_intercept,
        data: pass.name,
    })
}
