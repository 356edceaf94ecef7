//! `convert`: any table the reader takes written as one Parquet file, in row groups, in bounded
//! memory; and `scan`, the reader's speed floor: every field parsed, nothing kept.

use std::path::PathBuf;

use dataset::Input;
use serde::Serialize;

use crate::data::DataOptions;
use crate::error::{Error, Result};

/// What `convert` writes.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// The table to read.
    pub data: DataOptions,
    /// The Parquet file to write.
    pub output: PathBuf,
    /// Rows per row group.
    pub group_rows: usize,
}

/// A table converted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Converted {
    /// `"convert"`.
    pub command: &'static str,
    /// Rows written.
    pub rows: usize,
    /// The columns, in order.
    pub columns: Vec<String>,
    /// The file written.
    pub output: String,
    /// The table read.
    #[serde(skip)]
    pub data: String,
}

impl std::fmt::Display for Converted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "✔ {} rows of {} → {} ({} columns)",
            self.rows,
            self.data,
            self.output,
            self.columns.len()
        )
    }
}

/// Write every row of the data into one Parquet file.
#[cfg(feature = "columnar")]
pub fn convert(options: &ConvertOptions) -> Result<Converted> {
    use dataset::columnar::{ParquetSink, writes_parquet};

    let out = &options.output;
    if !writes_parquet(out) {
        return Err(Error::NotParquet { path: out.clone() });
    }
    let path = options.data.locate()?.path;
    let input = Input::open(&path, options.data.spec.default_columns())?.unhashed();
    let (name, columns) = (input.name().to_owned(), input.columns().to_vec());
    let destination = dataset::Destination::open(out)?;
    let mut sink = ParquetSink::new(
        destination.file()?,
        &out.display().to_string(),
        options.group_rows,
    );
    let mut rows = 0;
    input.for_each_chunk(
        |chunk| chunk.frame(&name, &columns),
        |frame| {
            rows += frame.len();
            sink.write_rows(frame)
        },
    )?;
    if rows == 0 {
        return Err(Error::NoRows { file: name });
    }
    sink.finish()?;
    destination.finish()?;
    Ok(Converted {
        command: "convert",
        rows,
        columns,
        output: out.display().to_string(),
        data: name,
    })
}

/// Rows of a table parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Scanned {
    /// `"scan"`.
    pub command: &'static str,
    /// Rows parsed.
    pub rows: u64,
}

impl std::fmt::Display for Scanned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} rows", self.rows)
    }
}

/// Parse every field of every row of the data (California's columns when it has no header),
/// keep nothing.
pub fn scan(data: &DataOptions) -> Result<Scanned> {
    let path = data.locate()?.path;
    let input = Input::open(&path, Some(&dataset::california::RAW_COLUMNS))?.unhashed();
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
            Ok::<u64, Error>(n)
        },
        |n| {
            rows += n;
            Ok(())
        },
    )?;
    Ok(Scanned {
        command: "scan",
        rows,
    })
}
