//! Which paths are columnar tables, decided by their form alone (so that a build without the
//! `columnar` feature can still say what it cannot read).

use std::path::Path;

/// A columnar input, as its path shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One Parquet file.
    Parquet,
    /// One Arrow IPC (Feather v2) file.
    Ipc,
    /// A folder or glob of Parquet files, read as one table.
    Many,
}

impl Kind {
    /// What the kind is called in messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Parquet => "a Parquet file",
            Self::Ipc => "an Arrow IPC file",
            Self::Many => "a folder or glob of Parquet files",
        }
    }
}

/// Whether `path` names a columnar table, and which kind; `None` for text (CSV, standard
/// input, scikit-learn's `.data` and `.tgz`).
pub fn kind(path: &Path) -> Option<Kind> {
    if path.as_os_str() == "-" {
        return None;
    }
    if path.is_dir() {
        return Some(Kind::Many);
    }
    let text = path.to_string_lossy();
    if text.contains(['*', '?', '[']) && !path.exists() {
        return Some(Kind::Many);
    }
    let extension = path.extension()?.to_string_lossy().to_ascii_lowercase();
    match extension.as_str() {
        "parquet" | "pq" => Some(Kind::Parquet),
        "arrow" | "ipc" | "feather" => Some(Kind::Ipc),
        _ => None,
    }
}

/// Whether predictions written to `path` are Parquet (by its extension, as for inputs).
pub fn writes_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"))
}
