//! `cali-reg summary`: the float model's inference statistics, statsmodels' OLS (WLS with a
//! weight column), from the training statistics.

use crate::args::{Common, CovTypeArg};
use crate::output;

pub fn run(common: &Common, alpha: f64, cov_type: Option<CovTypeArg>) -> anyhow::Result<()> {
    let summary = pipeline::summary(&pipeline::SummaryOptions {
        artifacts: common.artifacts.clone(),
        alpha,
        cov_type: cov_type.map(CovTypeArg::kind),
        data: common.data(),
    })?;
    output::result(&summary, common.json)
}
