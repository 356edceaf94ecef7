//! Files of the artifacts folder and of ours elsewhere: their names, bounded reading, encoding,
//! and the lock that keeps writers apart. Which file a reader may use is the record's to say
//! ([`crate::RunRecord`]).

use std::path::{Path, PathBuf};

use linreg::envelope::{self, Artifact, MAX_FILE};
use linreg::{AnyModel, Predictor};

use crate::error::{Error, Result};

/// The float model's file name.
pub const LINEAR: &str = "linear_model.msgpack";
/// The quantised model's file name.
pub const QUANTIZED: &str = "quant_model.msgpack";
/// The report's file name.
pub const REPORT: &str = "report.md";
/// The plot's file name.
pub const PLOT: &str = "predictions.svg";
/// The training rows' sufficient statistics (what `summary` infers from), as `stats` writes
/// them.
pub const TRAIN_STATS: &str = "train_stats.msgpack";

/// Encode a file of ours; `path` names it in errors.
pub fn encode<T: Artifact>(path: &Path, value: &T) -> Result<Vec<u8>> {
    envelope::encode(value).map_err(|cause| Error::File {
        path: path.to_path_buf(),
        cause,
    })
}

/// Encode and write a file of ours (a statistics file) atomically; returns its bytes.
pub fn save<T: Artifact>(path: &Path, value: &T) -> Result<Vec<u8>> {
    let bytes = encode(path, value)?;
    dataset::write_atomically(path, &bytes)?;
    Ok(bytes)
}

/// A file of ours, refusing one over [`MAX_FILE`] before reading it (and reading at most that
/// much from a device or a pipe that never ends). `what` names the file in the error when it
/// cannot be opened ("model file", or with a hint how to make it).
pub fn read_bounded(path: &Path, what: &str) -> Result<Vec<u8>> {
    let cannot = |cause| Error::Read {
        path: path.to_path_buf(),
        what: what.to_owned(),
        cause,
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if meta.is_dir() {
        return Err(Error::Directory {
            path: path.to_path_buf(),
        });
    }
    let too_large = || Error::TooLarge {
        path: path.to_path_buf(),
        limit: MAX_FILE,
    };
    if meta.len() > MAX_FILE {
        return Err(too_large());
    }
    let bytes = dataset::read_at_most(file, MAX_FILE).map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Decode a file of ours read as `bytes`; `path` names it in errors.
pub fn decode<T: Artifact>(path: &Path, bytes: &[u8]) -> Result<T> {
    envelope::decode(bytes).map_err(|cause| Error::File {
        path: path.to_path_buf(),
        cause,
    })
}

/// Read and decode a file of ours (`what` it should be: "statistics file").
pub fn load<T: Artifact>(path: &Path, what: &str) -> Result<T> {
    decode(path, &read_bounded(path, what)?)
}

/// A model file of either kind, as its header says; `path` names it in errors.
pub fn predictor(path: &Path, bytes: &[u8]) -> Result<Predictor> {
    Predictor::decode(bytes).map_err(|cause| Error::File {
        path: path.to_path_buf(),
        cause,
    })
}

/// A model ready to predict, the file it was read from and the SHA-256 of its bytes.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The model.
    pub predictor: Predictor,
    /// The file read (for a committed model not yet renamed, its pending name).
    pub path: PathBuf,
    /// The SHA-256 of the file's bytes.
    pub sha256: String,
}

/// A model file of either kind, taken as it is (no record vouches for it).
pub fn load_any(path: &Path) -> Result<Loaded> {
    let bytes = read_bounded(path, "model file")?;
    let mut predictor = predictor(path, &bytes)?;
    let beside = path.parent().unwrap_or(Path::new(".")).join(LINEAR);
    if let Ok(float) = read_bounded(&beside, "model file") {
        borrow_covariance(&mut predictor, &float);
    }
    Ok(Loaded {
        predictor,
        path: path.to_path_buf(),
        sha256: dataset::sha256_hex(&bytes),
    })
}

/// A quantised model's intervals reuse the covariance of the float model it was quantised
/// from: `float`, the bytes of the float model file beside it, when it is that model (else its
/// intervals are refused, saying why). A float model keeps its own.
pub(crate) fn borrow_covariance(predictor: &mut Predictor, float: &[u8]) {
    if let (AnyModel::Quantized(_), Ok(float)) =
        (predictor.model(), linreg::envelope::decode(float))
    {
        // A mismatch is recorded in the predictor and told only when intervals are asked for.
        let _ = predictor.borrow_covariance(&float);
    }
}

/// The model a folder holds under `name`, of the kind the name says.
pub(crate) fn model_of(name: &str, path: &Path, bytes: &[u8]) -> Result<AnyModel> {
    Ok(if name == QUANTIZED {
        AnyModel::Quantized(decode(path, bytes)?)
    } else {
        AnyModel::Float(decode(path, bytes)?)
    })
}

/// Where a file of the folder waits, written but not yet committed by the record: its name
/// and the start of its SHA-256 (`linear_model.msgpack.1a2b3c4d5e6f7a8b.pending`).
pub(crate) fn pending(dir: &Path, name: &str, sha256: &str) -> PathBuf {
    let short = sha256.get(..16).unwrap_or(sha256);
    dir.join(format!("{name}.{short}.pending"))
}

/// Whether a file name is a pending file's.
pub(crate) fn is_pending(name: &str) -> bool {
    name.ends_with(".pending") && (name.starts_with(LINEAR) || name.starts_with(QUANTIZED))
}

/// A lock on an artifacts folder (`.lock` in it): one writing command at a time, and no reading
/// command while one writes, so that model files and `run.json` are always seen together.
#[derive(Debug)]
pub struct Lock {
    /// Held, never read: dropping it unlocks.
    _file: std::fs::File,
}

impl Lock {
    /// For a command that writes the folder. `waiting` is called once if another command holds
    /// it, before waiting for it.
    pub fn exclusive(dir: &Path, waiting: impl FnOnce()) -> Result<Self> {
        let cannot = |cause| Error::Lock {
            dir: dir.to_path_buf(),
            cause,
        };
        std::fs::create_dir_all(dir).map_err(cannot)?;
        let file = Self::file(dir).map_err(cannot)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                waiting();
                file.lock().map_err(cannot)?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(cannot(e)),
        }
        Ok(Self { _file: file })
    }

    /// For a command that reads the folder: waits while one writes. A folder that cannot hold
    /// a lock file (read-only, as in the container image) is read without one.
    pub fn shared(dir: &Path) -> Option<Self> {
        let file = Self::file(dir).ok()?;
        file.lock_shared().ok()?;
        Some(Self { _file: file })
    }

    fn file(dir: &Path) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))
    }
}
