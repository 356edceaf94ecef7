//! `cali-reg train`: fit on the training split, report test metrics, save the float model; with
//! `--mlflow` (or `MLFLOW_TRACKING_URI`), log the run to an MLflow tracking server.

use pipeline::tracking::{self, Tracking};

use crate::args::{Common, TrainArgs};
use crate::output;
use crate::progress::Bar;

pub fn run(common: &Common, args: &TrainArgs) -> anyhow::Result<()> {
    // Tracking that cannot work is refused before anything runs.
    let flag = args.mlflow.as_ref().map(Option::as_deref);
    let tracking = Tracking::configure(flag, &|name| std::env::var(name).ok())?;
    let trained = pipeline::train(&args.options(common), &Bar::new(common))?;
    let logged = tracking
        .map(|t| tracking::log_training(&t, &common.artifacts))
        .transpose();
    output::tracked(&trained, logged, common.json)
}
