//! The error type of finding, reading and splitting data.

use std::path::PathBuf;

use crate::cell::CellProblem;
use crate::line::LineProblem;

/// How to supply NIST StRD's files (the `nist` module), for errors.
pub const NIST_HINT: &str = "set CALI_REG_NIST to a folder holding NIST StRD's eleven .dat files, \
     or connect to the network so that they are fetched from NIST into the cache";
/// How to give the data set by hand, appended to messages about a missing one.
pub const SUPPLY_HINT: &str = "set CALI_REG_DATA to a local cal_housing.csv (or cal_housing.tgz / cal_housing.data), or pass --data FILE";

/// What can go wrong in `dataset`. Every variant names the file (and line and column where there is one).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A path given by the caller or the environment does not exist.
    #[error("{origin} {} does not exist; {SUPPLY_HINT}", path.display())]
    NotFound {
        /// Where the path came from ("data file", "CALI_REG_DATA").
        origin: &'static str,
        /// The path.
        path: PathBuf,
    },
    /// Neither `CALI_REG_DATA` nor the cache gives a local copy.
    #[error(
        "no local copy of the data set (CALI_REG_DATA is unset and the cache holds no archive); {SUPPLY_HINT}"
    )]
    NoLocalCopy,
    /// Reading or writing a file failed.
    // The cause is part of the message, not a chained source: printed with its chain, the
    // message would repeat it ("Permission denied: Permission denied").
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// An output that cannot be written (or its folder created).
    #[error("cannot write {}: {cause}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// The file holds no data rows.
    #[error("{file}: no data rows")]
    Empty {
        /// The file.
        file: String,
    },
    /// Required columns are absent from the header.
    #[error("{file}:1: missing column{} {}", plural(.columns), .columns.join(", "))]
    MissingColumns {
        /// The file.
        file: String,
        /// The absent names.
        columns: Vec<String>,
    },
    /// Columns that the loader does not know are present.
    #[error("{file}:1: unexpected column{} {}", plural(.columns), .columns.join(", "))]
    ExtraColumns {
        /// The file.
        file: String,
        /// The unknown names.
        columns: Vec<String>,
    },
    /// A line with the wrong number of fields.
    #[error("{file}:{line}: expected {expected} fields, found {found}")]
    FieldCount {
        /// The file.
        file: String,
        /// One-based line number.
        line: u64,
        /// Fields in the header (or the known layout).
        expected: usize,
        /// Fields on this line.
        found: usize,
    },
    /// A cell that is not a number.
    #[error("{file}:{line}: column {column}: {value:?} is not a number")]
    NotNumeric {
        /// The file.
        file: String,
        /// One-based line number.
        line: u64,
        /// Column name.
        column: String,
        /// The cell's text.
        value: String,
    },
    /// An empty cell.
    #[error("{file}:{line}: column {column}: missing value")]
    MissingValue {
        /// The file.
        file: String,
        /// One-based line number.
        line: u64,
        /// Column name.
        column: String,
    },
    /// NaN, an infinity, or a number beyond the range of an f64.
    #[error("{file}:{line}: column {column}: {value} is not finite")]
    NonFinite {
        /// The file.
        file: String,
        /// One-based line number.
        line: u64,
        /// Column name.
        column: String,
        /// The cell as written.
        value: String,
    },
    /// A feature or target that is not finite, or too large to square (beyond ±1e100): a ratio
    /// of a huge and a tiny value, or a huge cell.
    #[error(
        "{file}:{line}: {feature} is {value:e}, beyond ±1e100: its square would overflow the statistics"
    )]
    NotFiniteDerived {
        /// The file.
        file: String,
        /// One-based line number.
        line: u64,
        /// The feature or target.
        feature: String,
        /// The value.
        value: f64,
    },
    /// A sample weight that is negative or beyond ±1e100 (a NaN or infinity is refused as a
    /// cell before).
    #[error(
        "{file}:{line}: weight column {column}: {value} is not a usable weight (it must be at least 0 and at most 1e100)"
    )]
    BadWeight {
        /// The file.
        file: String,
        /// One-based line number.
        line: u64,
        /// The weight column.
        column: String,
        /// The value.
        value: f64,
    },
    /// A quoted field without its closing quote.
    #[error("{file}:{line}: column {column}: a quoted field has no closing quote")]
    Unterminated {
        /// The file.
        file: String,
        /// One-based line number.
        line: u64,
        /// Column name.
        column: String,
    },
    /// A first line holding carriage returns: the line ends of classic Mac OS (and of Excel's
    /// "CSV (Macintosh)"), where the whole file would read as one line.
    #[error(
        "{file}:{line}: lines end in a carriage return alone (classic Mac OS); cali-reg reads lines ending in \\n or \\r\\n"
    )]
    CarriageReturns {
        /// The file.
        file: String,
        /// One-based line number.
        line: u64,
    },
    /// A line longer than the reader accepts.
    #[error("{file}:{line}: line longer than {} MiB", limit >> 20)]
    LineTooLong {
        /// The file.
        file: String,
        /// One-based line number.
        line: u64,
        /// The limit in bytes.
        limit: usize,
    },
    /// A header naming a column twice.
    #[error("{file}:1: column {column} appears twice in the header")]
    DuplicateColumn {
        /// The file.
        file: String,
        /// The repeated name.
        column: String,
    },
    /// A table whose first line is data where a header naming the columns is needed.
    #[error("{file}:1: no header line naming the columns")]
    NoHeader {
        /// The file.
        file: String,
    },
    /// A path that names something other than a file.
    #[error("{file} {what}")]
    NotAFile {
        /// The path.
        file: String,
        /// What it is ("is a directory").
        what: &'static str,
    },
    /// A denominator of a derived feature is zero or negative.
    #[error("{file}:{line}: column {column}: {value} must be positive ({feature} divides by it)")]
    BadDenominator {
        /// The file.
        file: String,
        /// One-based line number.
        line: u64,
        /// The denominator column.
        column: String,
        /// The feature being derived.
        feature: String,
        /// The value.
        value: f64,
    },
    /// A damaged or unexpected archive.
    #[error("{file}: {reason}")]
    Archive {
        /// The archive.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The download failed.
    #[error("download of {url} failed: {reason}; {SUPPLY_HINT}")]
    Download {
        /// The address.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The NIST StRD files could not be found, fetched or checked.
    #[error("the NIST StRD files: {problem}; {NIST_HINT}")]
    Nist {
        /// What went wrong, with the address or file.
        problem: String,
    },
    /// Content whose SHA-256 is not the expected one.
    #[error("{what}: SHA-256 is {actual}, expected {expected}; {SUPPLY_HINT}")]
    Checksum {
        /// What was checked.
        what: String,
        /// The checksum required.
        expected: String,
        /// The checksum found.
        actual: String,
    },
    /// A bad argument (split size, seed, column choice).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// A problem of one line, with the file, the line number and the column's name.
    pub fn at(file: &str, line: u64, columns: &[impl AsRef<str>], problem: LineProblem) -> Self {
        let file = file.to_owned();
        let name = |c: usize| {
            columns
                .get(c)
                .map_or_else(|| format!("{}", c + 1), |n| n.as_ref().to_owned())
        };
        match problem {
            LineProblem::FieldCount { expected, found } => Self::FieldCount {
                file,
                line,
                expected,
                found,
            },
            LineProblem::Unterminated { column } => Self::Unterminated {
                file,
                line,
                column: name(column),
            },
            LineProblem::Cell { column, problem } => {
                let column = name(column);
                match problem {
                    CellProblem::Missing => Self::MissingValue { file, line, column },
                    CellProblem::NotANumber(value) => Self::NotNumeric {
                        file,
                        line,
                        column,
                        value,
                    },
                    CellProblem::NonFinite(value) => Self::NonFinite {
                        file,
                        line,
                        column,
                        value,
                    },
                }
            }
        }
    }
}

fn plural(items: &[String]) -> &'static str {
    if items.len() == 1 { "" } else { "s" }
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_io_error_says_its_cause_once() {
        let err = Error::Io {
            path: PathBuf::from("data.csv"),
            cause: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        assert_eq!(err.to_string(), "data.csv: permission denied");
        // Printed with its chain of sources (as `{:#}` does), nothing is repeated.
        assert!(std::error::Error::source(&err).is_none());
    }
}
