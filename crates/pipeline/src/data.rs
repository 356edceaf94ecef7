//! What a run reads: the data file (given, or found as every command finds it) and which of its
//! columns are target, features and weight.

use std::path::PathBuf;

use dataset::{Located, Locator, Spec};

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
}
