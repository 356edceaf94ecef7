//! Parquet and Arrow IPC tables: one file, a folder of Parquet files, or a glob of them, read
//! as one table through polars (feature `columnar`), batch by batch.
//!
//! Which paths are columnar is decided by their form alone, so a build without the feature
//! can say what it cannot read: a `.parquet` (`.pq`) file, an Arrow IPC file (`.arrow`,
//! `.ipc`, `.feather`), a folder (its `*.parquet` files), or a pattern with `*`, `?` or `[`
//! that names no file (its matching files). The files of a folder or glob are read in sorted
//! name order, rows in order: that is the table's order, on which `--split hash` keys.

use std::path::Path;

mod form;

#[cfg(feature = "columnar")]
mod read;
#[cfg(feature = "columnar")]
mod write;

pub use form::{Kind, kind, writes_parquet};
#[cfg(feature = "columnar")]
pub use read::Batch;
#[cfg(feature = "columnar")]
pub(crate) use read::Reader;
#[cfg(feature = "columnar")]
pub use write::{Frame, GROUP_ROWS, ParquetSink};

/// The files of the table at `path`, in table order: the file itself, or a folder's or glob's
/// Parquet files in sorted name order.
pub fn files(path: &Path) -> crate::Result<Vec<std::path::PathBuf>> {
    #[cfg(feature = "columnar")]
    if kind(path) == Some(Kind::Many) {
        return read::list(path, Kind::Many);
    }
    Ok(vec![path.to_path_buf()])
}

/// The bytes on disk of the table at `path`: a file's size, or the sum of a folder's or glob's
/// Parquet files (0 where they cannot be listed).
pub fn size_on_disk(path: &Path) -> u64 {
    files(path).map_or(0, |files| {
        files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum()
    })
}

/// The bytes the table at `path` takes read as numbers, as far as its footers tell: a Parquet
/// table's rows × columns × 8, at least its size on disk; any other input's size on disk. A few
/// megabytes of Parquet can hold hundreds of millions of rows (a 3 MB file of 2·10⁸ rows took
/// 8 GB and 35 s to train on in memory).
pub fn size_in_memory(path: &Path) -> u64 {
    let on_disk = size_on_disk(path);
    #[cfg(feature = "columnar")]
    if let Some(kind @ (Kind::Parquet | Kind::Many)) = kind(path)
        && let Ok(Some(decoded)) = Reader::open(path, kind, false).map(|r| r.size())
    {
        return decoded.max(on_disk);
    }
    on_disk
}

#[cfg(all(test, feature = "columnar"))]
mod tests {
    use super::*;

    #[test]
    fn a_parquet_table_is_sized_by_its_rows_not_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let rows = 200_000;
        let names = [String::from("x"), String::from("y")];
        let x: Vec<f64> = (0..rows).map(|i| (i % 4) as f64).collect();
        let file = std::fs::File::create(&path).unwrap();
        let mut sink = ParquetSink::new(file, "t.parquet", rows);
        let frame = Frame::from_columns(&names, vec![x.clone(), x]).unwrap();
        sink.write_rows(frame).unwrap();
        sink.finish().unwrap();
        // Repetitive columns compress to 150 kB, and read back as 3.2 MB of numbers.
        assert_eq!(size_in_memory(&path), rows as u64 * 2 * 8);
        assert!(size_on_disk(&path) * 10 < size_in_memory(&path));
        assert_eq!(size_in_memory(dir.path()), rows as u64 * 2 * 8);
        // Text is its size on disk.
        let csv = dir.path().join("t.csv");
        std::fs::write(&csv, "x,y\n1,2\n").unwrap();
        assert_eq!(size_in_memory(&csv), 8);
    }
}
