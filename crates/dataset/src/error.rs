//! The error type of finding, reading and splitting data.

use std::path::PathBuf;

/// How to give the data set by hand, appended to messages about a missing one.
pub const SUPPLY_HINT: &str = "set CALI_REG_DATA to a local cal_housing.csv (or cal_housing.tgz / cal_housing.data), or pass --data FILE";

/// What can go wrong in `dataset`. Every variant names the file (and line and column where there is one).
#[derive(Debug, thiserror::Error)]
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
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
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
        line: usize,
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
        line: usize,
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
        line: usize,
        /// Column name.
        column: String,
    },
    /// NaN or infinity.
    #[error("{file}:{line}: column {column}: {value} is not finite")]
    NonFinite {
        /// The file.
        file: String,
        /// One-based line number.
        line: usize,
        /// Column name.
        column: String,
        /// The value.
        value: f64,
    },
    /// A denominator of a derived feature is zero or negative.
    #[error("{file}:{line}: column {column}: {value} must be positive ({feature} divides by it)")]
    BadDenominator {
        /// The file.
        file: String,
        /// One-based line number.
        line: usize,
        /// The denominator column.
        column: String,
        /// The feature being derived.
        feature: String,
        /// The value.
        value: f64,
    },
    /// The CSV reader failed in a way the line-by-line check did not pin down.
    #[error("{file}: {message}")]
    Csv {
        /// The file.
        file: String,
        /// polars' message.
        message: String,
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

fn plural(items: &[String]) -> &'static str {
    if items.len() == 1 { "" } else { "s" }
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
