//! `cali-reg diff`: the params and metrics that changed between two runs, as text, `--json`
//! or `--md`.

use crate::args::{Common, DiffArgs};
use crate::output;

pub fn run(common: &Common, args: &DiffArgs) -> anyhow::Result<()> {
    let diff = pipeline::diff(&pipeline::DiffOptions {
        artifacts: common.artifacts.clone(),
        old: args.old.clone(),
        new: args.new.clone(),
    })?;
    if args.md {
        output::bytes(diff.markdown().as_bytes())
    } else {
        output::result(&diff, common.json)
    }
}
