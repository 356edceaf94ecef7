//! `cali-reg scan` (hidden): parse every field of every row and keep nothing, the reader's
//! speed floor that `cargo xtask bench` measures.

use crate::args::Common;
use crate::output;

pub fn run(common: &Common) -> anyhow::Result<()> {
    output::result(&pipeline::scan(&common.data())?, common.json)
}
