//! `cali-reg train`: fit on the training split, report test metrics, save the float model.

use crate::args::{Common, TrainArgs};
use crate::output;
use crate::progress::Bar;

pub fn run(common: &Common, args: &TrainArgs) -> anyhow::Result<()> {
    let trained = pipeline::train(&args.options(common), &Bar::new(common))?;
    output::result(&trained, common.json)
}
