//! `cali-reg predict`: the five sample rows, or every row of a table.

use crate::args::{Common, PredictArgs};
use crate::output;
use pipeline::{Predicted, RunRecord, Sink};

pub fn run(common: &Common, args: &PredictArgs) -> anyhow::Result<()> {
    let record = RunRecord::open_or_empty(&common.artifacts)?;
    let predictor = pipeline::load_predictor(&common.artifacts, &record, common.which())?.predictor;
    let Some(input) = &args.input else {
        let predicted = samples(common, args, &predictor, &record)?;
        output::warnings(&predicted.warnings);
        return output::result(&predicted, common.json);
    };
    // With --json and no file, the predictions are one JSON object, not CSV.
    let collect = args.summary || (common.json && args.output.is_none());
    let predicted = match (&args.output, collect) {
        (_, true) => pipeline::predict_table(&predictor, input, Sink::Collect, args.interval)?,
        (Some(path), false) => {
            pipeline::predict_table(&predictor, input, Sink::File(path.clone()), args.interval)?
        }
        (None, false) => {
            let mut stdout = std::io::stdout().lock();
            let sink = Sink::Stream {
                writer: &mut stdout,
                name: "standard output",
            };
            pipeline::predict_table(&predictor, input, sink, args.interval)?
        }
    };
    output::warnings(&predicted.warnings);
    // Rows written as CSV are the output; the rest is said only when asked for.
    if collect || (common.json && predicted.output.is_some()) {
        output::result(&predicted, common.json)?;
    }
    Ok(())
}

#[cfg(feature = "train")]
fn samples(
    common: &Common,
    args: &PredictArgs,
    predictor: &linreg::Predictor,
    record: &RunRecord,
) -> anyhow::Result<Predicted> {
    let options = pipeline::SampleOptions {
        data: common.data(),
        split: common.split(),
        save_samples: args.save_samples.clone(),
        interval: args.interval,
    };
    Ok(pipeline::predict_samples(predictor, record, &options)?)
}

#[cfg(not(feature = "train"))]
fn samples(
    _: &Common,
    _: &PredictArgs,
    _: &linreg::Predictor,
    _: &RunRecord,
) -> anyhow::Result<Predicted> {
    anyhow::bail!("this build of cali-reg cannot load the data set; pass --input FILE.csv")
}
