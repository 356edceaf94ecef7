//! Shared helpers.

use std::path::PathBuf;

/// The California CSV: `CALI_REG_DATA`, else the cache. Fails, never skips, when absent.
pub fn data_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CALI_REG_DATA").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(dir) = dataset::default_cache_dir() {
        let cached = dir.join(dataset::CACHE_FILE);
        if cached.is_file() {
            return cached;
        }
    }
    panic!(
        "this test needs the California Housing data: set CALI_REG_DATA to cal_housing.csv \
         (for example CALI_REG_DATA=$PWD/../shared/data/cal_housing.csv)"
    );
}
