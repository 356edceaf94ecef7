//! `cali-reg evaluate`: R², RMSE and MAE of the chosen model on the test split.

use crate::args::Common;
use crate::output;

pub fn run(common: &Common) -> anyhow::Result<()> {
    let evaluated = pipeline::evaluate(&pipeline::EvaluateOptions {
        artifacts: common.artifacts.clone(),
        data: common.data(),
        split: common.split(),
        which: common.which(),
    })?;
    output::warnings(&evaluated.warnings);
    output::result(&evaluated, common.json)
}
