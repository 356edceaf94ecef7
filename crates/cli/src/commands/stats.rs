//! `cali-reg stats -o FILE`: a table's sufficient statistics, to merge with `train --from-stats`.

use std::path::Path;

use crate::args::Common;
use crate::output;
use crate::progress::Bar;

/// The statistics of every row of --data, for a model with an intercept or (`fit_intercept`
/// false) without.
pub fn run(
    common: &Common,
    output: &Path,
    fit_intercept: bool,
    distributions: bool,
) -> anyhow::Result<()> {
    let options = pipeline::StatsOptions {
        data: common.data(),
        output: output.to_path_buf(),
        fit_intercept,
        distributions,
    };
    let written = pipeline::write_stats(&options, &Bar::new(common))?;
    output::result(&written, common.json)
}
