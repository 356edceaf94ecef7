//! What a run reads: the data file (given, or found as every command finds it) and which of its
//! columns are target, features and weight.

use std::path::PathBuf;

use dataset::{Located, Locator, Spec};
use serde::Serialize;

use crate::error::Result;

/// Where the data is and what to read of it.
#[derive(Debug, Clone, Default)]
pub struct DataOptions {
    /// The table; `None`: `CALI_REG_DATA`, the cache, then a verified download.
    pub path: Option<PathBuf>,
    /// Target, features and weight; the default is California Housing's derivation.
    pub spec: Spec,
}

impl DataOptions {
    /// The data file, and how it was found.
    pub fn locate(&self) -> Result<Located> {
        Ok(Locator::from_env(self.path.as_deref()).locate()?)
    }

    /// The data file, how it was found, and its SHA-256: what `locate` says.
    pub fn location(&self) -> Result<Location> {
        let located = self.locate()?;
        Ok(Location {
            sha256: dataset::table_sha256(&located.path)?,
            path: located.path.display().to_string(),
            found_by: located.origin.label(),
        })
    }
}

/// Where the data is, as every command finds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file.
    pub path: String,
    /// How it was found.
    pub found_by: &'static str,
    /// Its SHA-256.
    pub sha256: String,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}), SHA-256 {}",
            self.path, self.found_by, self.sha256
        )
    }
}
