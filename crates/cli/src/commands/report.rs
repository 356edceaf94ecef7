//! `cali-reg report`: sizes and accuracy of the float model, our quantised model and the
//! original's scheme, beside the original's published figures.

use crate::args::Common;
use crate::output;

pub fn run(common: &Common) -> anyhow::Result<()> {
    let report = pipeline::report(&pipeline::ReportOptions {
        artifacts: common.artifacts.clone(),
        data: common.data(),
        split: common.split(),
    })?;
    output::warnings(&report.warnings);
    output::result(&report, common.json)
}
