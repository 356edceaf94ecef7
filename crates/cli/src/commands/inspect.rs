//! `cali-reg inspect MODEL`: what a model file holds.

use std::path::Path;

use crate::args::Common;
use crate::output;

pub fn run(common: &Common, path: &Path) -> anyhow::Result<()> {
    output::result(&pipeline::inspect(path)?, common.json)
}
