//! `cali-reg convert -o FILE.parquet`: any table the reader takes (CSV, Parquet, Arrow IPC, a
//! folder or glob of Parquet files) written as one Parquet file, in row groups, in bounded
//! memory. `cargo xtask gen-data --format parquet` makes its files with it.

use std::path::Path;

use crate::args::Common;
use crate::output;

pub fn run(common: &Common, out: &Path, group_rows: usize) -> anyhow::Result<()> {
    let converted = pipeline::convert(&pipeline::ConvertOptions {
        data: common.data(),
        output: out.to_path_buf(),
        group_rows,
    })?;
    output::result(&converted, common.json)
}
