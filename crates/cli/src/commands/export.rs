//! `cali-reg export`: the float or quantised model as a file other tools run (ONNX).

use crate::args::{Common, ExportArgs, ExportFormat};
use crate::output;

pub fn run(common: &Common, args: &ExportArgs) -> anyhow::Result<()> {
    let ExportFormat::Onnx = args.format;
    let exported = pipeline::export(&pipeline::ExportOptions {
        artifacts: common.artifacts.clone(),
        which: common.which(),
        output: args.output.clone(),
        raw: args.raw,
    })?;
    output::result(&exported, common.json)
}
