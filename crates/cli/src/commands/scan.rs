//! `cali-reg scan` (hidden): parse every field of every row and keep nothing, the reader's
//! speed floor that `cargo xtask bench` measures.

use dataset::{Input, california};

use crate::args::Common;
use crate::output;

/// `cali-reg scan`: parse every field of every row, keep nothing: the reader's speed floor.
pub fn run(common: &Common) -> anyhow::Result<()> {
    let input = Input::open(
        &common.data().locate()?.path,
        Some(&california::RAW_COLUMNS),
    )?
    .unhashed();
    let (name, columns) = (input.name().to_owned(), input.columns().to_vec());
    let used = vec![true; columns.len()];
    let mut rows = 0_u64;
    input.for_each_chunk(
        |chunk| {
            let mut raw = vec![0.0; columns.len()];
            let mut n = 0_u64;
            for (line, record) in chunk.lines() {
                record.parse(&used, &mut raw).map_err(|p| {
                    let (file, line) = record.place(&name, line);
                    dataset::Error::at(file, line, &columns, p)
                })?;
                n += 1;
            }
            Ok::<u64, anyhow::Error>(n)
        },
        |n| {
            rows += n;
            Ok(())
        },
    )?;
    output::line(format_args!("{rows} rows"))?;
    Ok(())
}
