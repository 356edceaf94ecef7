//! Numeric CSV into columns, with polars, and a line-by-line check that pins
//! any problem to its line and column.

use std::io::Cursor;
use std::sync::Arc;

use polars::prelude::{CsvReadOptions, DataType, Field, Schema, SerReader};

use crate::error::{Error, Result};

/// A numeric table as read: column names and column-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTable {
    /// Names the file (and archive member) in messages.
    pub file: String,
    /// Column names, from the header or the known layout.
    pub columns: Vec<String>,
    /// One vector per column, all of equal length.
    pub values: Vec<Vec<f64>>,
    /// One-based line number of each data row.
    pub lines: Vec<usize>,
}

impl RawTable {
    /// Number of data rows.
    pub fn n_rows(&self) -> usize {
        self.lines.len()
    }

    /// The raw values of row `r`, in column order.
    pub fn row(&self, r: usize, out: &mut Vec<f64>) {
        out.clear();
        out.extend(self.values.iter().map(|c| c[r]));
    }
}

/// Data lines: (one-based line number, text without the line end), skipping blank lines.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty())
}

fn unquote(field: &str) -> &str {
    let f = field.trim();
    f.strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(f)
}

/// Whether the first non-blank line is a header (its first field is not a number).
pub fn has_header(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    data_lines(&text)
        .next()
        .and_then(|(_, l)| l.split(',').next())
        .is_some_and(|f| unquote(f).parse::<f64>().is_err())
}

/// Parse a numeric CSV. `names` gives the columns of a header-less file;
/// without it the first line is the header.
pub fn parse_csv(bytes: &[u8], file: &str, names: Option<&[&str]>) -> Result<RawTable> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::Csv {
        file: file.to_owned(),
        message: format!("not UTF-8 text ({e})"),
    })?;
    let mut lines = data_lines(text);
    let columns: Vec<String> = match names {
        Some(names) => names.iter().map(|n| (*n).to_owned()).collect(),
        None => match lines.next() {
            Some((_, header)) => header.split(',').map(|f| unquote(f).to_owned()).collect(),
            None => {
                return Err(Error::Empty {
                    file: file.to_owned(),
                });
            }
        },
    };
    if let Some(dup) = columns
        .iter()
        .enumerate()
        .find(|(i, c)| columns[..*i].contains(c))
        .map(|(_, c)| c)
    {
        return Err(Error::Csv {
            file: file.to_owned(),
            message: format!("column {dup} appears twice in the header"),
        });
    }
    let line_numbers: Vec<usize> = lines.map(|(n, _)| n).collect();
    if line_numbers.is_empty() {
        return Err(Error::Empty {
            file: file.to_owned(),
        });
    }

    match read_with_polars(bytes, &columns, names.is_none()) {
        Ok(values) if values.iter().all(|c| c.len() == line_numbers.len()) => {
            let values = values
                .into_iter()
                .map(|col| col.into_iter().collect::<Option<Vec<f64>>>())
                .collect::<Option<Vec<_>>>();
            match values {
                Some(values) if values.iter().flatten().all(|v| v.is_finite()) => Ok(RawTable {
                    file: file.to_owned(),
                    columns,
                    values,
                    lines: line_numbers,
                }),
                _ => Err(
                    locate_problem(text, file, &columns, names.is_none()).unwrap_or_else(|| {
                        Error::Csv {
                            file: file.to_owned(),
                            message: String::from("missing or non-finite values"),
                        }
                    }),
                ),
            }
        }
        Ok(_) => Err(
            locate_problem(text, file, &columns, names.is_none()).unwrap_or_else(|| Error::Csv {
                file: file.to_owned(),
                message: String::from("row count differs from the number of data lines"),
            }),
        ),
        Err(message) => Err(
            locate_problem(text, file, &columns, names.is_none()).unwrap_or_else(|| Error::Csv {
                file: file.to_owned(),
                message,
            }),
        ),
    }
}

/// polars' CSV reader with every column typed as Float64.
fn read_with_polars(
    bytes: &[u8],
    columns: &[String],
    header: bool,
) -> std::result::Result<Vec<Vec<Option<f64>>>, String> {
    let schema: Schema = columns
        .iter()
        .map(|c| Field::new(c.as_str().into(), DataType::Float64))
        .collect();
    let df = CsvReadOptions::default()
        .with_has_header(header)
        .with_schema(Some(Arc::new(schema)))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(|e| e.to_string())?;
    columns
        .iter()
        .map(|c| {
            let column = df.column(c).map_err(|e| e.to_string())?;
            let floats = column.f64().map_err(|e| e.to_string())?;
            Ok(floats.iter().collect())
        })
        .collect()
}

/// The first problem in the text, with its line and column; `None` if every line is clean.
fn locate_problem(text: &str, file: &str, columns: &[String], header: bool) -> Option<Error> {
    let file = file.to_owned();
    for (line, content) in data_lines(text).skip(usize::from(header)) {
        let fields: Vec<&str> = content.split(',').collect();
        if fields.len() != columns.len() {
            return Some(Error::FieldCount {
                file,
                line,
                expected: columns.len(),
                found: fields.len(),
            });
        }
        for (field, column) in fields.iter().zip(columns) {
            let cell = unquote(field);
            if cell.is_empty() {
                return Some(Error::MissingValue {
                    file,
                    line,
                    column: column.clone(),
                });
            }
            match cell.parse::<f64>() {
                Ok(v) if v.is_finite() => {}
                Ok(value) => {
                    return Some(Error::NonFinite {
                        file,
                        line,
                        column: column.clone(),
                        value,
                    });
                }
                Err(_) => {
                    return Some(Error::NotNumeric {
                        file,
                        line,
                        column: column.clone(),
                        value: cell.chars().take(40).collect(),
                    });
                }
            }
        }
    }
    None
}
