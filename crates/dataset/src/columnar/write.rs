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
    pub fn of(batch: &super::Batch) -> Self {
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

/// A Parquet file being written: each [`write`](Self::write) adds a row group of the input's
/// columns and a `prediction` column; [`finish`](Self::finish) writes the footer.
pub struct ParquetSink {
    name: String,
    file: Option<File>,
    writer: Option<polars::io::parquet::write::BatchedWriter<File>>,
}

impl std::fmt::Debug for ParquetSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSink")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ParquetSink {
    /// Write to `file` (opened by the caller, typically a temporary file renamed when every
    /// row has succeeded); `name` names it in messages.
    pub fn new(file: File, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            file: Some(file),
            writer: None,
        }
    }

    fn failed(&self, e: PolarsError) -> Error {
        Error::Write {
            path: self.name.clone().into(),
            cause: std::io::Error::other(e.to_string()),
        }
    }

    /// Add `rows` and their `predictions` (one each).
    pub fn write(&mut self, rows: Frame, predictions: &[f64]) -> Result<()> {
        let mut frame = rows.0;
        let prediction = Column::new("prediction".into(), predictions);
        frame.with_column(prediction).map_err(|e| self.failed(e))?;
        if self.writer.is_none() {
            let file = self.file.take().ok_or_else(|| Error::Write {
                path: self.name.clone().into(),
                cause: std::io::Error::other("the file is closed"),
            })?;
            let writer = ParquetWriter::new(file)
                .batched(frame.schema())
                .map_err(|e| self.failed(e))?;
            self.writer = Some(writer);
        }
        match &mut self.writer {
            Some(writer) => writer.write_batch(&frame),
            None => Ok(()),
        }
        .map_err(|e| self.failed(e))
    }

    /// Write the footer. A file that received no rows gets none.
    pub fn finish(self) -> Result<()> {
        match &self.writer {
            Some(writer) => writer.finish().map(|_| ()).map_err(|e| self.failed(e)),
            None => Ok(()),
        }
    }
}
