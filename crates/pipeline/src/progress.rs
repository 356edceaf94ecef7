//! What a long pass over a table reports while it runs: the binary draws a progress bar from
//! it, other callers ignore it.

/// Told of a pass's progress. Every method does nothing by default.
pub trait Progress: Sync {
    /// A pass starts over `total` bytes (when the input's size is known).
    fn start(&self, total: Option<u64>) {
        let _ = total;
    }

    /// `bytes` of the input and `rows` rows are done.
    fn advance(&self, bytes: u64, rows: u64) {
        let _ = (bytes, rows);
    }

    /// The pass is over.
    fn finish(&self) {}
}

/// No progress shown.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}
