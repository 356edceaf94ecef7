//! `cali-reg export`: the float or quantised model as a file other tools run (ONNX), or an
//! MLflow model folder around it.

use crate::args::{Common, ExportArgs};
use crate::output;

pub fn run(common: &Common, args: &ExportArgs) -> anyhow::Result<()> {
    let exported = pipeline::export(&pipeline::ExportOptions {
        format: args.format.format(),
        artifacts: common.artifacts.clone(),
        which: common.which(),
        output: args.output.clone(),
        raw: args.raw,
    })?;
    output::result(&exported, common.json)
}
