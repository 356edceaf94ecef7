//! `cali-reg quantize`: uint8 weights with a bias-corrected intercept, from the float model
//! alone; added to the MLflow run that `run.json` names, if any (the `train` build).

use crate::args::Common;
use crate::output;

pub fn run(common: &Common) -> anyhow::Result<()> {
    let quantized = pipeline::quantize(&common.artifacts)?;
    #[cfg(feature = "train")]
    {
        use pipeline::tracking::{self, Step};
        let logged = tracking::log_step(&common.artifacts, Step::Quantize, &|name| {
            std::env::var(name).ok()
        });
        output::tracked(&quantized, logged, common.json)
    }
    #[cfg(not(feature = "train"))]
    output::result(&quantized, common.json)
}
