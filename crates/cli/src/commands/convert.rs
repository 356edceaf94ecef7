//! `cali-reg convert -o FILE.parquet`: any table the reader takes (CSV, Parquet, Arrow IPC, a
//! folder or glob of Parquet files) written as one Parquet file, in row groups, in bounded
//! memory. `cargo xtask gen-data --format parquet` makes its files with it.

use std::path::Path;

use anyhow::bail;
use dataset::Input;
use dataset::columnar::{ParquetSink, writes_parquet};
use serde_json::json;

use crate::args::Common;
use crate::output;

/// `cali-reg convert`: every row of --data into `out`, `group_rows` rows a row group.
pub fn run(common: &Common, out: &Path, group_rows: usize) -> anyhow::Result<()> {
    if !writes_parquet(out) {
        bail!(
            "{}: convert writes Parquet: name the file *.parquet",
            out.display()
        );
    }
    let input = Input::open(
        &common.data().locate()?.path,
        common.spec().default_columns(),
    )?
    .unhashed();
    let (name, columns) = (input.name().to_owned(), input.columns().to_vec());
    let destination = dataset::Destination::open(out)?;
    let mut sink = ParquetSink::new(destination.file()?, &out.display().to_string(), group_rows);
    let mut rows = 0;
    input.for_each_chunk(
        |chunk| chunk.frame(&name, &columns),
        |frame| {
            rows += frame.len();
            sink.write_rows(frame)
        },
    )?;
    if rows == 0 {
        bail!("{name}: no data rows");
    }
    sink.finish()?;
    destination.finish()?;
    if common.json {
        output::json(&json!({
            "command": "convert",
            "rows": rows,
            "columns": columns,
            "output": out.display().to_string(),
        }))
    } else {
        output::line(format_args!(
            "✔ {rows} rows of {name} → {} ({} columns)",
            out.display(),
            columns.len()
        ))
    }
}
