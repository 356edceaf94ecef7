//! The error type of fitting, predicting and model files.

/// What can go wrong in `linreg`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A confidence level's alpha outside (0, 1).
    #[error("alpha {0}: must be between 0 and 1 (0.05 gives 95% intervals)")]
    Alpha(f64),
    /// A ridge penalty that is negative or not a number.
    #[error("alpha {0}: the ridge penalty must be a number ≥ 0")]
    Penalty(f64),
    /// Inference asked of a ridge model.
    #[error(
        "the model was fitted with a ridge penalty (alpha {0}): its coefficients are biased, and the summary's statistics are those of least squares; train without --alpha"
    )]
    RidgeInference(f64),
    /// A prediction interval's level outside (0, 1).
    #[error("interval level {0}: must lie strictly between 0 and 1 (0.95 gives 95% intervals)")]
    Level(f64),
    /// Intervals asked of a model that carries no covariance.
    #[error("{0}")]
    NoCovariance(String),
    /// A training distribution or a drift comparison that cannot be formed.
    #[error("{0}")]
    Drift(String),
    /// A distribution that cannot be formed (degrees of freedom out of range).
    #[error("{0}")]
    Distribution(String),
    /// A feature column holds a single value, so its coefficient is undetermined.
    #[error("feature {0} is constant")]
    ConstantFeature(String),
    /// Some feature columns are (nearly) linear combinations of each other.
    #[error("features {} are collinear (condition number {condition:.3e})", join_names(.features))]
    Collinear {
        /// The columns involved.
        features: Vec<String>,
        /// Condition number of the scaled Gram matrix.
        condition: f64,
    },
    /// Fewer rows than parameters.
    #[error("{rows} rows are too few to fit {params} parameters")]
    TooFewRows {
        /// Rows with positive weight.
        rows: u64,
        /// Coefficients plus intercept.
        params: usize,
    },
    /// More features than [`MAX_FEATURES`](crate::MAX_FEATURES).
    #[error(
        "{features} features are more than the {max} cali-reg fits (its statistics grow with the square of their number)"
    )]
    TooManyFeatures {
        /// Features asked for.
        features: usize,
        /// The most there can be.
        max: usize,
    },
    /// Lengths or widths that should agree do not.
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        /// What was measured.
        what: &'static str,
        /// The length required.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// A NaN or infinite input value.
    #[error("{what} at row {row}, column {column} is not finite ({value})")]
    NonFinite {
        /// Which input ("feature", "target", "weight").
        what: &'static str,
        /// Zero-based row in the batch.
        row: usize,
        /// Zero-based column.
        column: usize,
        /// The value.
        value: f64,
    },
    /// A negative sample weight.
    #[error("weight at row {row} is negative ({value})")]
    NegativeWeight {
        /// Zero-based row.
        row: usize,
        /// The weight.
        value: f64,
    },
    /// Input columns do not give the model's features.
    #[error("{0}")]
    Columns(String),
    /// Binding a recipe or deriving a row's features failed (a missing column, a zero or
    /// negative denominator).
    #[error(transparent)]
    Recipe(#[from] recipe::Error),
    /// Quantisation failed. (The cause is in the message, not chained, so that printing the
    /// chain does not say it twice.)
    #[error("quantisation: {0}")]
    Quant(quant::Error),
    /// A model file that cannot be read, for a reason other than those below.
    #[error("{0}")]
    Format(String),
    /// Bytes that do not start with the magic of cali-reg files.
    #[error("not a cali-reg file (wrong magic bytes)")]
    BadMagic,
    /// Fewer bytes than the header, or than the payload the header announces.
    #[error("truncated: {0}")]
    Truncated(String),
    /// Bytes after the payload.
    #[error("{0} unexpected bytes after the payload")]
    TrailingBytes(usize),
    /// A format version this build does not read.
    #[error(
        "format version {found} is newer than this build reads ({supported}); upgrade cali-reg"
    )]
    NewerVersion {
        /// The file's version.
        found: u16,
        /// The newest this build reads.
        supported: u16,
    },
    /// Version 0, or a content kind no version defines.
    #[error("{0}")]
    InvalidHeader(String),
    /// A file of another kind than the one asked for.
    #[error("holds {found}, expected {expected}")]
    WrongKind {
        /// What the file holds ("a float model", …).
        found: &'static str,
        /// What was asked for.
        expected: &'static str,
    },
    /// The reserved header byte is not zero.
    #[error("reserved header byte 11 is {0}, not 0: the file is damaged")]
    Reserved(u8),
    /// The payload's CRC-32 differs from the header's.
    #[error("checksum mismatch: the file is damaged")]
    Checksum,
    /// The payload does not decode as the kind it claims to be.
    #[error("payload does not decode: {0}")]
    Payload(String),
}

fn join_names(names: &[String]) -> String {
    match names {
        [] => String::from("(unknown)"),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl From<quant::Error> for Error {
    fn from(e: quant::Error) -> Self {
        Self::Quant(e)
    }
}

/// `Ok` when the lengths agree, else [`Error::Shape`] naming `what`.
pub(crate) fn same_len(what: &'static str, expected: usize, got: usize) -> crate::Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::Shape {
            what,
            expected,
            got,
        })
    }
}
