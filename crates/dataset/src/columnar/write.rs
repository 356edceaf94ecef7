//! Writing rows with their predictions as Parquet, a row group at a time.

use std::fs::File;

use polars::prelude::*;

use crate::error::{Error, Result};

/// Rows of a table on their way to a Parquet file: the input's columns as read (a columnar
/// input's batch), or numbers (a CSV input's).
#[derive(Debug, Clone)]
pub struct Frame(DataFrame);

impl Frame {
    /// The rows of a columnar batch, as read.
    pub fn of(batch: &super::read::Batch) -> Self {
        Self(batch.frame().clone())
    }

    /// Numeric columns, each with its name.
    pub fn from_columns(names: &[String], columns: Vec<Vec<f64>>) -> Result<Self> {
        let columns = names
            .iter()
            .zip(columns)
            .map(|(name, values)| Column::new(name.as_str().into(), values))
            .collect();
        DataFrame::new_infer_height(columns)
            .map(Self)
            .map_err(|e| Error::Invalid(format!("cannot build the rows to write: {e}")))
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.0.height()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Rows per row group written, unless the caller chooses: polars' own default, 2 MiB a column
/// of `f64`, so a writer holds a few tens of MiB whatever the number of rows.
pub const GROUP_ROWS: usize = 1 << 18;

/// A Parquet file being written: rows are gathered into row groups of a set number of rows
/// (the last one shorter); [`finish`](Self::finish) writes the last group and the footer.
pub struct ParquetSink {
    name: String,
    file: Option<File>,
    group_rows: usize,
    pending: Option<DataFrame>,
    writer: Option<polars::io::parquet::write::BatchedWriter<File>>,
}

impl std::fmt::Debug for ParquetSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSink")
            .field("name", &self.name)
            .field("group_rows", &self.group_rows)
            .finish_non_exhaustive()
    }
}

impl ParquetSink {
    /// Write to `file` (opened by the caller, typically a temporary file renamed when every
    /// row has succeeded) in row groups of `group_rows` rows; `name` names it in messages.
    pub fn new(file: File, name: &str, group_rows: usize) -> Self {
        Self {
            name: name.to_owned(),
            file: Some(file),
            group_rows: group_rows.max(1),
            pending: None,
            writer: None,
        }
    }

    fn failed(&self, e: impl std::fmt::Display) -> Error {
        Error::Write {
            path: self.name.clone().into(),
            cause: std::io::Error::other(e.to_string()),
        }
    }

    /// Add `rows` with the float columns `added` (a name and one value per row each), such as
    /// `prediction`.
    pub fn write(&mut self, rows: Frame, added: &[(&str, &[f64])]) -> Result<()> {
        let mut frame = rows.0;
        for (name, values) in added {
            let column = Column::new((*name).into(), *values);
            frame.with_column(column).map_err(|e| self.failed(e))?;
        }
        self.write_rows(Frame(frame))
    }

    /// Add `rows` as they are.
    pub fn write_rows(&mut self, rows: Frame) -> Result<()> {
        let pending = match self.pending.take() {
            None => rows.0,
            Some(mut pending) => {
                pending
                    .vstack_mut_owned(rows.0)
                    .map_err(|e| self.failed(e))?;
                pending
            }
        };
        if pending.height() < self.group_rows {
            self.pending = Some(pending);
            return Ok(());
        }
        let whole = pending.height() / self.group_rows * self.group_rows;
        let (head, tail) = pending.split_at(whole as i64);
        for k in 0..whole / self.group_rows {
            self.write_group(head.slice((k * self.group_rows) as i64, self.group_rows))?;
        }
        self.pending = (tail.height() > 0).then_some(tail);
        Ok(())
    }

    /// Write one row group.
    fn write_group(&mut self, mut group: DataFrame) -> Result<()> {
        group.rechunk_mut();
        if self.writer.is_none() {
            let file = self
                .file
                .take()
                .ok_or_else(|| self.failed("the file is closed"))?;
            // Snappy, the default of pandas, pyarrow and Spark: fast to decode, and cheap on the
            // incompressible digits of measured values.
            let writer = ParquetWriter::new(file)
                .with_compression(ParquetCompression::Snappy)
                .batched(group.schema())
                .map_err(|e| self.failed(e))?;
            self.writer = Some(writer);
        }
        match &mut self.writer {
            Some(writer) => writer.write_batch(&group),
            None => Ok(()),
        }
        .map_err(|e| self.failed(e))
    }

    /// Write the last row group and the footer. A sink that received no rows writes nothing.
    pub fn finish(mut self) -> Result<()> {
        if let Some(rest) = self.pending.take() {
            self.write_group(rest)?;
        }
        match &self.writer {
            Some(writer) => writer.finish().map(|_| ()).map_err(|e| self.failed(e)),
            None => Ok(()),
        }
    }
}
