//! The error type of the codec.

/// What can go wrong when quantising a tensor.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value is NaN or infinite; quantisation needs a finite range.
    #[error("value at index {index} is not finite ({value})")]
    NonFinite {
        /// Position of the offending value in the flattened tensor.
        index: usize,
        /// The value itself.
        value: f64,
    },
    /// The range is too wide for an `f32` scale.
    #[error("value range {lo:e}..{hi:e} is too wide for an f32 scale")]
    RangeTooWide {
        /// Lower end of the range.
        lo: f64,
        /// Upper end of the range.
        hi: f64,
    },
    /// Channel sizes do not divide the tensor.
    #[error("a tensor of {len} values cannot be split into channels of {channel_len}")]
    BadChannels {
        /// Number of values in the tensor.
        len: usize,
        /// Requested channel length.
        channel_len: usize,
    },
    /// Codes and parameters disagree (a damaged or hand-made value).
    #[error("quantised tensor is inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
