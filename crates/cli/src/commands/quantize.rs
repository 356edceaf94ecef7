//! `cali-reg quantize`: uint8 weights with a bias-corrected intercept, from the float model alone.

use crate::args::Common;
use crate::output;

pub fn run(common: &Common) -> anyhow::Result<()> {
    let quantized = pipeline::quantize(&common.artifacts)?;
    output::result(&quantized, common.json)
}
