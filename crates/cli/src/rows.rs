//! Rows of a CSV file read one at a time, in bounded memory: the reader behind
//! `predict --input`, which echoes each record with its prediction (quoting included).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, bail};

type Source = BufReader<Box<dyn Read>>;

/// A CSV file (or standard input) as a sequence of records.
pub struct CsvRows {
    /// The file's name in messages (`<stdin>` for `-`).
    pub name: String,
    /// Column names, from the header or the given defaults.
    pub columns: Vec<String>,
    reader: csv::Reader<Source>,
    record: csv::ByteRecord,
}

impl std::fmt::Debug for CsvRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvRows")
            .field("name", &self.name)
            .field("columns", &self.columns)
            .finish()
    }
}

use crate::numbers::parse as number;

impl CsvRows {
    /// Open `path` (`-` for standard input). A file whose first field is a number has no header;
    /// it then takes `default_columns` as its names, or is refused.
    pub fn open(path: &Path, default_columns: Option<&[&str]>) -> anyhow::Result<Self> {
        let stdin = path.as_os_str() == "-";
        let name = if stdin {
            String::from("<stdin>")
        } else {
            path.display().to_string()
        };
        let input: Box<dyn Read> = if stdin {
            Box::new(std::io::stdin())
        } else {
            Box::new(File::open(path).with_context(|| format!("{name}: cannot open"))?)
        };
        let mut source: Source = BufReader::with_capacity(1 << 20, input);
        let head = source
            .fill_buf()
            .with_context(|| format!("{name}: cannot read"))?;
        let header = crate::numbers::sniff_header(&name, head)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(header)
            .buffer_capacity(1 << 20)
            .from_reader(source);
        let columns: Vec<String> = if header {
            reader
                .headers()
                .with_context(|| format!("{name}: cannot read the header"))?
                .iter()
                .map(|c| c.trim().to_owned())
                .collect()
        } else {
            match default_columns {
                Some(names) => names.iter().map(|n| (*n).to_owned()).collect(),
                None => bail!("{name}:1: no header line naming the columns"),
            }
        };
        Ok(Self {
            name,
            columns,
            reader,
            record: csv::ByteRecord::new(),
        })
    }

    /// Read the next record and parse the `used` columns into `raw` (indexed by column).
    /// Returns the record's line number, or `None` at the end.
    pub fn next_row(&mut self, used: &[usize], raw: &mut [f64]) -> anyhow::Result<Option<usize>> {
        let more = self
            .reader
            .read_byte_record(&mut self.record)
            .with_context(|| format!("{}: malformed CSV", self.name))?;
        if !more {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line() as usize);
        if self.record.len() != self.columns.len() {
            bail!(
                "{}:{line}: expected {} fields, found {}",
                self.name,
                self.columns.len(),
                self.record.len()
            );
        }
        for &c in used {
            let cell = &self.record[c];
            raw[c] = match number(cell) {
                Some(v) if v.is_finite() => v,
                Some(v) => bail!(
                    "{}:{line}: column {}: {v} is not finite",
                    self.name,
                    self.columns[c]
                ),
                None if cell.trim_ascii().is_empty() => {
                    bail!(
                        "{}:{line}: column {}: missing value",
                        self.name,
                        self.columns[c]
                    )
                }
                None => bail!(
                    "{}:{line}: column {}: {:?} is not a number",
                    self.name,
                    self.columns[c],
                    String::from_utf8_lossy(cell)
                ),
            };
        }
        Ok(Some(line))
    }

    /// The last record read, as text fields.
    pub fn record(&self) -> &csv::ByteRecord {
        &self.record
    }
}
