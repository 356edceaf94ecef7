//! Reading Parquet and Arrow IPC files through polars, a row group at a time.
//!
//! A Parquet row group is read by its own `ParquetReader` over the file's metadata (read once),
//! so only that group's pages are mapped, and the mapping ends with the read: memory holds one
//! decoded group and the batches in flight, whatever the size of the file. The group is handed
//! out in batches of [`BATCH_ROWS`] rows, each column copied out as `f64`, so workers parse
//! batches as they parse chunks of text. An Arrow IPC file is read whole.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

use super::form::{self, Kind};
use crate::cell::CellProblem;
use crate::error::{Error, Result};
use crate::line::LineProblem;

/// A file's column names and types, as polars reads them.
type ArrowSchemaRef = Arc<ArrowSchema>;

/// Rows per batch handed to the workers (about 4.5 MiB for nine columns, as a chunk of text).
const BATCH_ROWS: usize = 1 << 16;

/// One file of the table.
struct Part {
    path: PathBuf,
    name: Arc<str>,
    ipc: bool,
    /// Parquet: the metadata read when the file was opened, and its row groups' heights.
    metadata: Option<polars::io::parquet::metadata::FileMetadataRef>,
    groups: Vec<usize>,
}

/// A row group read, handed out a batch at a time.
struct Group {
    frame: DataFrame,
    offset: usize,
    file: Arc<str>,
    /// Row number (from 1, in its file) of the group's first row.
    first_row: u64,
}

/// The SHA-256 of a table's files, one after the other, computed on a thread of its own while
/// the batches are read; dropping it stops the thread at its next read.
struct Hashing {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Result<String>>>,
}

impl Hashing {
    fn start(paths: Vec<PathBuf>) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            crate::hash::sha256_files(&paths, &|| {
                stopped.load(std::sync::atomic::Ordering::Relaxed)
            })
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> Result<String> {
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Err(Error::Invalid(String::from(
                "the hashing thread stopped unexpectedly",
            ))),
        }
    }
}

impl Drop for Hashing {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The batches of a columnar table, in table order.
pub(crate) struct Reader {
    parts: Vec<Part>,
    columns: Vec<String>,
    /// The next group to read: file, group.
    next: (usize, usize),
    /// Rows of the file being read, before the next group.
    file_rows: u64,
    current: Option<Group>,
    /// The hash-split key of the next row.
    key: u64,
    /// Which columns to read (all unless told otherwise).
    read: Vec<bool>,
    /// Whether the SHA-256 is wanted, and its thread once started.
    hashed: bool,
    hashing: Option<Hashing>,
}

fn unreadable(file: &str, what: &str, e: impl std::fmt::Display) -> Error {
    let reason = e.to_string();
    let reason = reason.lines().next().unwrap_or_default();
    Error::Invalid(format!("{file}: not a readable {what} ({reason})"))
}

/// The files of a columnar input, in table order.
pub(crate) fn list(path: &Path, kind: Kind) -> Result<Vec<PathBuf>> {
    let shown = path.display().to_string();
    if kind != Kind::Many {
        if !path.is_file() {
            return Err(Error::NotFound {
                origin: "data file",
                path: path.to_path_buf(),
            });
        }
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = if path.is_dir() {
        std::fs::read_dir(path)
            .map_err(|e| Error::Io {
                path: path.to_path_buf(),
                cause: e,
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && form::kind(p) == Some(Kind::Parquet))
            .collect()
    } else {
        glob::glob(&path.to_string_lossy())
            .map_err(|e| Error::Invalid(format!("{shown}: not a usable pattern ({e})")))?
            .filter_map(std::result::Result::ok)
            .filter(|p| p.is_file())
            .collect()
    };
    files.sort();
    if let Some(other) = files.iter().find(|p| form::kind(p) != Some(Kind::Parquet)) {
        return Err(Error::Invalid(format!(
            "{}: not a Parquet file (a folder or glob is read as Parquet files, *.parquet)",
            other.display()
        )));
    }
    if files.is_empty() {
        return Err(if path.is_dir() {
            Error::NotAFile {
                file: shown,
                what: "is a directory holding no .parquet files",
            }
        } else {
            Error::Invalid(format!("{shown}: no file matches the pattern"))
        });
    }
    Ok(files)
}

/// A file's column names and types, and for Parquet its metadata.
fn open_part(path: PathBuf, ipc: bool) -> Result<(Part, ArrowSchemaRef)> {
    let name: Arc<str> = Arc::from(path.display().to_string());
    let io = |e| Error::Io {
        path: path.clone(),
        cause: e,
    };
    let file = File::open(&path).map_err(io)?;
    let (schema, metadata, groups) = if ipc {
        let schema = IpcReader::new(file)
            .schema()
            .map_err(|e| unreadable(&name, "Arrow IPC file", e))?;
        (schema, None, vec![usize::MAX])
    } else {
        let mut reader = ParquetReader::new(file);
        let schema = reader
            .schema()
            .map_err(|e| unreadable(&name, "Parquet file", e))?;
        let metadata = reader
            .get_metadata()
            .map_err(|e| unreadable(&name, "Parquet file", e))?
            .clone();
        // Each row group is read in slices of a batch's rows: polars decodes only the pages a
        // slice needs, so a large row group is never held whole.
        let groups = metadata
            .row_groups
            .iter()
            .flat_map(|g| {
                let rows = g.num_rows();
                (0..rows.div_ceil(BATCH_ROWS)).map(move |k| BATCH_ROWS.min(rows - k * BATCH_ROWS))
            })
            .collect();
        (schema, Some(metadata), groups)
    };
    let part = Part {
        path,
        name,
        ipc,
        metadata,
        groups,
    };
    Ok((part, schema))
}

impl Reader {
    /// Open the files of a columnar input and check that they agree: the same column names,
    /// each of one type in every file.
    pub(crate) fn open(path: &Path, kind: Kind, hashed: bool) -> Result<Self> {
        let mut parts = Vec::new();
        let mut first: Option<(Arc<str>, ArrowSchemaRef)> = None;
        for file in list(path, kind)? {
            let (part, schema) = open_part(file, kind == Kind::Ipc)?;
            match &first {
                None => {
                    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
                    if let Some(name) = crate::line::first_repeated(&names) {
                        return Err(Error::DuplicateColumn {
                            file: part.name.to_string(),
                            column: name.to_owned(),
                        });
                    }
                    first = Some((part.name.clone(), schema));
                }
                Some((first_name, first_schema)) => {
                    agree(first_name, first_schema, &part.name, &schema)?;
                }
            }
            parts.push(part);
        }
        let columns: Vec<String> = first
            .map(|(_, schema)| schema.iter_names().map(|n| n.to_string()).collect())
            .unwrap_or_default();
        Ok(Self {
            read: vec![true; columns.len()],
            parts,
            columns,
            next: (0, 0),
            file_rows: 0,
            current: None,
            // A table's row r (from 1) is keyed as line r + 1 of a CSV with a header: the same
            // rows, in CSV or Parquet, fall on the same side of `--split hash`.
            key: 2,
            hashed,
            hashing: None,
        })
    }

    /// Read only the columns whose `used` flag is set; the others are neither decoded nor
    /// converted (a wide file's unused columns cost nothing).
    pub(crate) fn read_only(&mut self, used: &[bool]) {
        self.read = used.to_vec();
        self.read.resize(self.columns.len(), false);
    }

    /// Skip the SHA-256.
    pub(crate) fn unhashed(&mut self) {
        self.hashed = false;
    }

    /// Whether every row has been handed out.
    pub(crate) fn is_done(&self) -> bool {
        let (p, g) = self.next;
        self.current
            .as_ref()
            .is_none_or(|c| c.offset >= c.frame.height())
            && self.parts.iter().skip(p).enumerate().all(|(i, part)| {
                let from = if i == 0 { g } else { 0 };
                part.groups[from.min(part.groups.len())..]
                    .iter()
                    .all(|&n| n == 0)
            })
    }

    /// The column names, in the first file's order.
    pub(crate) fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The table's size as the batches count it: eight bytes a cell.
    pub(crate) fn size(&self) -> Option<u64> {
        let rows: usize = self
            .parts
            .iter()
            .filter(|p| !p.ipc)
            .flat_map(|p| &p.groups)
            .sum();
        (!self.parts.iter().any(|p| p.ipc)).then_some(rows as u64 * 8 * self.columns.len() as u64)
    }

    /// The next batch of rows, in table order; `None` at the end.
    pub(crate) fn next_batch(&mut self) -> Result<Option<Batch>> {
        if self.hashed && self.hashing.is_none() {
            self.hashing = Some(Hashing::start(
                self.parts.iter().map(|p| p.path.clone()).collect(),
            ));
        }
        loop {
            if let Some(group) = &mut self.current {
                let height = group.frame.height();
                if group.offset < height {
                    let len = BATCH_ROWS.min(height - group.offset);
                    let frame = group.frame.slice(group.offset as i64, len);
                    let first_row = group.first_row + group.offset as u64;
                    let columns = (self.columns.as_slice(), self.read.as_slice());
                    let batch = Batch::new(frame, columns, group.file.clone(), first_row)?;
                    let batch = Batch {
                        first_key: self.key,
                        ..batch
                    };
                    group.offset += len;
                    self.key += len as u64;
                    return Ok(Some(batch));
                }
                self.current = None;
            }
            let (p, g) = self.next;
            let Some(part) = self.parts.get(p) else {
                return Ok(None);
            };
            if g == part.groups.len() {
                (self.next, self.file_rows) = ((p + 1, 0), 0);
                continue;
            }
            let names = self.columns.iter().zip(&self.read).filter(|(_, r)| **r);
            let names = names.map(|(n, _)| n.clone()).collect();
            let frame = read_group(part, g, self.file_rows, names)?;
            self.current = Some(Group {
                offset: 0,
                file: part.name.clone(),
                first_row: self.file_rows + 1,
                frame,
            });
            self.file_rows += part.groups[g].min(usize::MAX / 2) as u64;
            self.next = (p, g + 1);
        }
    }

    /// The SHA-256 of the files' bytes, one after the other, once they are read to the end.
    pub(crate) fn finish_hash(&mut self) -> Result<Option<String>> {
        if !self.is_done() {
            return Ok(None);
        }
        self.hashing.take().map(Hashing::finish).transpose()
    }
}

/// Refuse a file whose columns differ from the first file's, in names or types.
fn agree(
    first_name: &str,
    first: &ArrowSchemaRef,
    name: &str,
    schema: &ArrowSchemaRef,
) -> Result<()> {
    let names = |schema: &ArrowSchemaRef| -> Vec<String> {
        schema.iter_names().map(|n| n.to_string()).collect()
    };
    crate::columns::same_columns(name, &names(first), &names(schema))?;
    for field in first.iter_values() {
        if let Some(other) = schema.get(&field.name)
            && other.dtype != field.dtype
        {
            return Err(Error::Invalid(format!(
                "{name}: column {} is {:?} here but {:?} in {first_name}: the files of a table must agree",
                field.name, other.dtype, field.dtype
            )));
        }
    }
    Ok(())
}

/// Row group `g` of a file (an IPC file's one group is the whole file).
fn read_group(part: &Part, g: usize, before: u64, columns: Vec<String>) -> Result<DataFrame> {
    let file = File::open(&part.path).map_err(|e| Error::Io {
        path: part.path.clone(),
        cause: e,
    })?;
    if part.ipc {
        return IpcReader::new(file)
            .with_columns(Some(columns))
            .finish()
            .map_err(|e| unreadable(&part.name, "Arrow IPC file", e));
    }
    let mut reader = ParquetReader::new(file);
    if let Some(metadata) = &part.metadata {
        reader.set_metadata(metadata.clone());
    }
    reader
        .with_columns(Some(columns))
        .with_slice(Some((before as usize, part.groups[g])))
        .finish()
        .map_err(|e| unreadable(&part.name, "Parquet file", e))
}

/// One column of a batch.
#[derive(Debug)]
enum Cells {
    /// A numeric column (integers, floats, decimals), as `f64`; a null's slot holds anything.
    Numbers {
        values: Vec<f64>,
        first_null: Option<usize>,
        column: Column,
    },
    /// A column of another type (text, booleans, dates): its first null and first value.
    Other {
        first_null: Option<usize>,
        first_value: Option<(usize, String)>,
        column: Column,
    },
    /// A column the reader was told it need not read.
    Skipped,
}

/// Rows of a columnar file, column by column, as the workers parse them.
#[derive(Debug)]
pub struct Batch {
    /// The columns read, in the input's order.
    frame: DataFrame,
    rows: usize,
    cells: Vec<Cells>,
    file: Arc<str>,
    /// Row number (from 1, in its file) of the first row.
    first_row: u64,
    /// The hash-split key of the first row.
    pub(crate) first_key: u64,
}

/// The first null of a column, if it has any.
fn first_null(column: &Column) -> Option<usize> {
    if column.null_count() == 0 {
        return None;
    }
    column.is_null().iter().position(|v| v == Some(true))
}

/// A value as a message shows it.
fn shown(value: AnyValue<'_>) -> String {
    match value {
        AnyValue::String(s) => s.chars().take(40).collect(),
        other => other.to_string(),
    }
}

impl Batch {
    /// The rows of `frame`, which holds the input's `columns` whose `read` flag is set.
    fn new(
        frame: DataFrame,
        (columns, read): (&[String], &[bool]),
        file: Arc<str>,
        first_row: u64,
    ) -> Result<Self> {
        let failed = |e: PolarsError| unreadable(&file, "columnar file", e);
        let mut cells = Vec::with_capacity(columns.len());
        for (name, &read) in columns.iter().zip(read) {
            if !read {
                cells.push(Cells::Skipped);
                continue;
            }
            let column = frame.column(name).map_err(failed)?.clone();
            let dtype = column.dtype();
            let first_null = first_null(&column);
            cells.push(if dtype.is_primitive_numeric() || dtype.is_decimal() {
                let cast = column.cast(&DataType::Float64).map_err(failed)?;
                let mut values = Vec::with_capacity(frame.height());
                for array in cast.f64().map_err(failed)?.downcast_iter() {
                    values.extend_from_slice(array.values());
                }
                Cells::Numbers {
                    values,
                    first_null,
                    column,
                }
            } else {
                let first_value = (0..frame.height())
                    .find(|&i| Some(i) != first_null && column.get(i).is_ok_and(|v| !v.is_null()))
                    .and_then(|i| Some((i, shown(column.get(i).ok()?))));
                Cells::Other {
                    first_null,
                    first_value,
                    column,
                }
            });
        }
        let names = columns.iter().zip(read).filter(|(_, r)| **r);
        let frame = frame
            .select(names.map(|(n, _)| n.as_str()))
            .map_err(failed)?;
        Ok(Self {
            rows: frame.height(),
            frame,
            cells,
            file,
            first_row,
            first_key: 0,
        })
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// The number of columns.
    pub fn width(&self) -> usize {
        self.cells.len()
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The file the rows come from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The row number (from 1, in its file) of row `row` of the batch.
    pub fn row_number(&self, row: usize) -> u64 {
        self.first_row + row as u64
    }

    /// The rows as polars holds them, the input's columns in order.
    pub(crate) fn frame(&self) -> &DataFrame {
        &self.frame
    }

    /// Row `row`'s used columns into `raw`, refused as a CSV cell would be.
    pub(crate) fn parse(
        &self,
        row: usize,
        used: &[bool],
        raw: &mut [f64],
    ) -> std::result::Result<(), LineProblem> {
        let cell = |column, problem| Err(LineProblem::Cell { column, problem });
        for (j, cells) in self.cells.iter().enumerate() {
            if !used[j] {
                continue;
            }
            match cells {
                Cells::Numbers { first_null, .. } | Cells::Other { first_null, .. }
                    if *first_null == Some(row) =>
                {
                    return cell(j, CellProblem::Missing);
                }
                Cells::Numbers { values, .. } => {
                    let v = values[row];
                    if !v.is_finite() {
                        return cell(j, CellProblem::NonFinite(v.to_string()));
                    }
                    raw[j] = v;
                }
                Cells::Other {
                    first_value,
                    column,
                    ..
                } => {
                    let value = match first_value {
                        Some((at, value)) if *at == row => value.clone(),
                        _ => shown(column.get(row).unwrap_or(AnyValue::Null)),
                    };
                    return cell(j, CellProblem::NotANumber(value));
                }
                // Only a caller that reads every column it uses asks for a projection.
                Cells::Skipped => return cell(j, CellProblem::Missing),
            }
        }
        Ok(())
    }

    /// Row `row` as a CSV line: numbers in their shortest round-trip form, nulls empty, text
    /// quoted where it must be.
    pub(crate) fn write_csv(&self, row: usize, out: &mut Vec<u8>) {
        use std::io::Write;
        for (j, cells) in self.cells.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            // Writing to a Vec cannot fail.
            match cells {
                Cells::Numbers {
                    values,
                    first_null: None,
                    ..
                } => {
                    let _ = write!(out, "{}", values[row]);
                }
                Cells::Skipped => {}
                Cells::Numbers { column, .. } | Cells::Other { column, .. } => {
                    match column.get(row) {
                        Ok(AnyValue::Null) | Err(_) => {}
                        Ok(AnyValue::String(s)) => {
                            out.extend_from_slice(crate::line::csv_field(s).as_bytes());
                        }
                        Ok(other) => {
                            let _ = write!(out, "{other}");
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Told which columns it needs, the reader decodes only those: a text column and a numeric
    /// one it does not need are neither read nor converted, and the rows read are the same.
    #[test]
    fn a_projection_reads_only_the_columns_used() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("t.parquet");
        let mut frame = DataFrame::new_infer_height(vec![
            Column::new("a".into(), vec![1.0, 2.0, 3.0]),
            Column::new("note".into(), vec!["x", "y", "z"]),
            Column::new("b".into(), vec![4_i64, 5, 6]),
            Column::new("y".into(), vec![7.0, 8.0, 9.0]),
        ])
        .expect("a frame");
        ParquetWriter::new(File::create(&path).expect("a file"))
            .finish(&mut frame)
            .expect("written");
        let mut reader = Reader::open(&path, Kind::Parquet, false).expect("opened");
        reader.read_only(&[true, false, false, true]);
        let batch = reader.next_batch().expect("read").expect("a batch");
        assert_eq!(batch.frame().get_column_names(), ["a", "y"]);
        assert!(matches!(batch.cells[1], Cells::Skipped));
        assert!(matches!(batch.cells[2], Cells::Skipped));
        let mut raw = [0.0; 4];
        batch
            .parse(2, &[true, false, false, true], &mut raw)
            .expect("parsed");
        assert_eq!(raw, [3.0, 0.0, 0.0, 9.0]);
        assert!(reader.next_batch().expect("read").is_none());
    }
}
