//! `cali-reg drift`: the drift of --data from the float model's training rows, as text, a
//! Markdown table or `--json`; with `--fail-above`, exit status 3 past a threshold.

use crate::args::Common;
use crate::output;

/// Drift past a `--fail-above` threshold: the report is printed, then this, with exit status 3.
#[derive(Debug)]
pub struct Exceeded(pub Vec<String>);

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "drift above the thresholds: {}", self.0.join("; "))
    }
}

impl std::error::Error for Exceeded {}

pub fn run(
    common: &Common,
    fail_above: &[pipeline::Threshold],
    md: bool,
    svg: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    // `--data -`: standard input, as `predict --input -` reads it; else the table as every
    // command finds it.
    let input = match &common.data {
        Some(path) if path.as_os_str() == "-" => path.clone(),
        _ => common.data().locate()?.path,
    };
    let report = pipeline::drift(&pipeline::DriftOptions {
        artifacts: common.artifacts.clone(),
        input,
        svg,
    })?;
    if md && !common.json {
        output::bytes(report.markdown().as_bytes())?;
    } else {
        output::result(&report, common.json)?;
    }
    let exceeding = report.exceeding(fail_above);
    if exceeding.is_empty() {
        Ok(())
    } else {
        Err(Exceeded(exceeding).into())
    }
}
