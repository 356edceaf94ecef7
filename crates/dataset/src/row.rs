//! One data row as the reader found it: a line of text, or a row of a columnar batch.
//!
//! Every reader of rows goes through [`Record::parse`], so a CSV line and a Parquet row meet
//! the same checks and their problems the same words; only the place differs (`file:line` for
//! text, `file:row` for a columnar file, the row counted from 1 within its file).

use crate::line::LineProblem;

/// A row of a [`Chunk`](crate::Chunk): its text, or its cells in a columnar batch.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    /// A line of a CSV text, without its line end.
    Text(&'a [u8]),
    /// Row `row` of a batch read from a Parquet or Arrow IPC file.
    #[cfg(feature = "columnar")]
    Cells {
        /// The batch.
        batch: &'a crate::columnar::Batch,
        /// Zero-based row within the batch.
        row: usize,
    },
}

impl<'a> Record<'a> {
    /// Parse the columns whose `used` flag is set into `raw` (indexed by column); the others
    /// are skipped, whatever they hold.
    pub fn parse(&self, used: &[bool], raw: &mut [f64]) -> Result<(), LineProblem> {
        match *self {
            Self::Text(text) => crate::line::parse_line(text, used, raw),
            #[cfg(feature = "columnar")]
            Self::Cells { batch, row } => batch.parse(row, used, raw),
        }
    }

    /// Where a problem with this row is reported: the input's name and the line number for
    /// text; for a columnar row, its file and its row number in that file.
    pub fn place<'s>(&'s self, input: &'s str, line: u64) -> (&'s str, u64) {
        match *self {
            Self::Text(_) => (input, line),
            #[cfg(feature = "columnar")]
            Self::Cells { batch, row } => (batch.file(), batch.row_number(row)),
        }
    }

    /// The row as CSV: the line as read, or the cells written out (numbers in their shortest
    /// round-trip form, a null as an empty field).
    pub fn write_csv(&self, out: &mut Vec<u8>) {
        match *self {
            Self::Text(text) => out.extend_from_slice(text),
            #[cfg(feature = "columnar")]
            Self::Cells { batch, row } => batch.write_csv(row, out),
        }
    }

    /// The line, for a row read from text.
    pub fn text(&self) -> Option<&'a [u8]> {
        match *self {
            Self::Text(text) => Some(text),
            #[cfg(feature = "columnar")]
            Self::Cells { .. } => None,
        }
    }
}
