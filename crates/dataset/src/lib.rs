//! `dataset`: California Housing (or a user's numeric table) found, verified,
//! parsed, derived and split exactly as scikit-learn does.
//!
//! - [`Locator`] finds the file: a path argument, `CALI_REG_DATA`, the cache,
//!   or a download of scikit-learn's archive checked against its SHA-256.
//! - [`load`] reads a CSV with a header, the header-less `cal_housing.data`, or
//!   `cal_housing.tgz` (parsed with polars), validates every cell, and applies
//!   the [`california::recipe`] (or a user's `--target`) into a [`Table`].
//! - [`train_test_split`] returns the very index lists of scikit-learn's
//!   `train_test_split(..., random_state=seed)`.
//!
//! Errors name the file, line and column ([`Error`]).
//!
//! ```no_run
//! use dataset::{load, train_test_split, Locator, Spec};
//! let located = Locator::from_env(None).locate()?;
//! let table = load(&located, &Spec::default())?;
//! let split = train_test_split(table.n_rows(), 0.2, 42)?;
//! let (x_train, y_train) = table.select(&split.train);
//! assert_eq!(x_train.ncols(), 8);
//! # Ok::<(), dataset::Error>(())
//! ```
#![deny(missing_docs)]

pub mod california;
mod error;
mod parse;
mod source;
mod split;
mod table;

pub use error::{Error, Result, SUPPLY_HINT};
pub use parse::{RawTable, has_header, parse_csv};
pub use source::{
    ARCHIVE_SHA256, ARCHIVE_URL, CACHE_FILE, DATA_ENV, Located, Locator, Origin, SHA256_ENV,
    URL_ENV, default_cache_dir, local_copy, read, sha256_hex, write_atomically,
};
pub use split::{Mt19937, Split, permutation, train_test_split};
pub use table::{Spec, Table, load, load_path, recipe_for};
