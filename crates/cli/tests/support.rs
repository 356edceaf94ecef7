//! Shared helpers.

use std::path::PathBuf;

/// The California CSV: `CALI_REG_DATA`, else the cache. Fails, never skips, when absent.
pub fn data_path() -> PathBuf {
    dataset::local_copy()
        .unwrap_or_else(|e| panic!("this test needs the California Housing data: {e}"))
}

/// scikit-learn's `LinearRegression` on the seed split (test size 0.2, seed 42).
pub const SKLEARN_COEF: [f64; 8] = [
    0.4486749096657172,
    0.00972425751790503,
    -0.12332334282795941,
    0.7831449067929727,
    -2.029620580093136e-06,
    -0.0035263184871341473,
    -0.4197924865883597,
    -0.43370806496398734,
];

/// Its intercept.
pub const SKLEARN_INTERCEPT: f64 = -37.02327770606391;
