//! `cali-reg report`: sizes and accuracy of the float model, our quantised model and the
//! original's scheme, beside the original's published figures; added to the MLflow run that
//! `run.json` names, if any.

use pipeline::tracking::{self, Step};

use crate::args::Common;
use crate::output;

pub fn run(common: &Common) -> anyhow::Result<()> {
    let report = pipeline::report(&pipeline::ReportOptions {
        artifacts: common.artifacts.clone(),
        data: common.data(),
        split: common.split(),
    })?;
    output::warnings(&report.warnings);
    let logged = tracking::log_step(&common.artifacts, Step::Report, &|name| {
        std::env::var(name).ok()
    });
    output::tracked(&report, logged, common.json)
}
