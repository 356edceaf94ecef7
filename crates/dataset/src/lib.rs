//! `dataset`: every way a table comes in, and the one reader behind all of them.
//!
//! - [`Locator`] finds the file: a path argument, `CALI_REG_DATA`, the cache,
//!   or a download of scikit-learn's archive checked against its SHA-256.
//! - [`Input`] opens a file, standard input, bytes or scikit-learn's `.tgz`, and reads its
//!   header by the rules every command shares (BOM, blank lines, CRLF, quoted fields,
//!   duplicate names, line length). [`Input::for_each_chunk`] reads the rest in chunks of whole
//!   lines on worker threads and hands the results back in file order.
//! - With the feature `columnar`, [`Input::open`] also takes Parquet, Arrow IPC and folders
//!   or globs of Parquet files (module `columnar`): read a row group at a time through polars,
//!   their rows reach the caller as [`Record`]s beside a text's lines, with the same checks and
//!   words. `columnar::ParquetSink` writes Parquet.
//! - [`parse_line`] and [`parse_cell`] turn text into numbers, exactly rounded; [`Error::at`]
//!   names the file, line, column and value of any problem.
//! - [`load`] builds the in-memory [`Table`] from the same chunks, straight into the
//!   column-major design matrix; [`Derivation`] applies the recipe to a line for every path.
//! - [`train_test_split`] returns the very index lists of scikit-learn's
//!   `train_test_split(..., random_state=seed)`; [`hash_is_test`] is the streaming split.
//! - [`nist::locate`] finds NIST StRD's linear-regression reference files for the numerics
//!   tests the same way: `CALI_REG_NIST`, the cache, or NIST's site, each file checked against
//!   its SHA-256.
//!
//! The in-memory load:
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
//!
//! A stream of rows, in bounded memory (the chunks may be mapped on several threads):
//!
//! ```
//! use dataset::{Derivation, Input, Spec, recipe_for};
//! let text = b"x,y\n1,2\n2,4.5\n".to_vec();
//! let input = Input::from_bytes("t.csv", text, None)?;
//! let spec = Spec { target: Some("y".into()), ..Spec::default() };
//! let recipe = recipe_for(input.name(), input.columns(), &spec)?;
//! let derive = Derivation::new(&input, &recipe)?;
//! let mut total = 0.0;
//! input.for_each_chunk(
//!     |chunk| {
//!         let (mut raw, mut x, mut sum) = ([0.0; 2], [0.0; 1], 0.0);
//!         for (line, record) in chunk.lines() {
//!             sum += derive.row(line, record, &mut raw, &mut x)?;
//!         }
//!         Ok::<f64, dataset::Error>(sum)
//!     },
//!     |sum| { total += sum; Ok(()) },
//! )?;
//! assert_eq!(total, 6.5);
//! # Ok::<(), dataset::Error>(())
//! ```
#![deny(missing_docs)]

mod atomic;
pub mod california;
mod cell;
mod chunks;
pub mod columnar;
mod columns;
mod error;
mod hash;
mod input;
mod io;
mod line;
pub mod nist;
mod row;
mod source;
mod split;
mod table;

pub use atomic::{Destination, write_atomically};
pub use cell::{CellProblem, parse_cell, unquote};
pub use chunks::{BufferPool, CHUNK, Chunk, MIN_CHUNK};
pub use error::{Error, Result, SUPPLY_HINT};
pub use hash::{sha256_files, sha256_hex};
pub use input::{Input, MAX_LINE};
pub use io::read_at_most;
pub use line::{LineProblem, csv_field, fields, first_repeated, header_names, parse_line};
pub use row::Record;
pub use source::{
    ARCHIVE_SHA256, ARCHIVE_URL, CACHE_FILE, DATA_ENV, Located, Locator, Origin, SHA256_ENV, Stamp,
    URL_ENV, default_cache_dir, local_copy, read, table_sha256,
};
pub use split::{
    DEFAULT_SEED, DEFAULT_TEST_SIZE, Mt19937, Split, check_split, hash_fold, hash_is_test,
    hash_train_fold, permutation, train_test_split,
};
pub use table::{
    Derivation, MAX_MAGNITUDE, Picked, Spec, Table, check_magnitude, is_usable, load, load_known,
    load_path, pick_rows, raw_rows, recipe_for,
};
