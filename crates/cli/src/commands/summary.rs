//! `cali-reg summary`: the float model's inference statistics, statsmodels' OLS (WLS with a
//! weight column), from the training statistics.

use crate::args::Common;
use crate::output;

pub fn run(common: &Common, alpha: f64) -> anyhow::Result<()> {
    let summary = pipeline::summary(&pipeline::SummaryOptions {
        artifacts: common.artifacts.clone(),
        alpha,
    })?;
    output::result(&summary, common.json)
}
