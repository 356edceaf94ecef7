//! Model files on disk: names, atomic writes, loading with the file named in every error.

use std::path::{Path, PathBuf};

use anyhow::Context;
use linreg::envelope::{self, Artifact, MAX_FILE};
use linreg::{AnyModel, Predictor};

use crate::record::Record;

/// The float model's file name.
pub const LINEAR: &str = "linear_model.msgpack";
/// The quantised model's file name.
pub const QUANTIZED: &str = "quant_model.msgpack";

/// The one atomic writer (never a half-written file), shared with the data cache and xtask.
pub use dataset::{Destination, write_atomically};

pub use dataset::sha256_hex;

/// Encode and write a model file; returns its bytes.
pub fn save<T: Artifact>(path: &Path, value: &T) -> anyhow::Result<Vec<u8>> {
    let bytes = envelope::encode(value).with_context(|| format!("{}", path.display()))?;
    write_atomically(path, &bytes)?;
    Ok(bytes)
}

/// A model or statistics file's bytes, refusing one over [`MAX_FILE`] before reading it (and
/// reading at most that much from a device or a pipe that never ends). `what` names the file
/// in the error when it cannot be opened ("model file", or with a hint how to make it).
pub fn read_bounded(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("{}: cannot read {what}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if meta.is_dir() {
        anyhow::bail!("{} is a directory, not a model file", path.display());
    }
    let too_large = || {
        anyhow::anyhow!(
            "{}: larger than {} MiB, not a cali-reg file",
            path.display(),
            MAX_FILE >> 20
        )
    };
    if meta.len() > MAX_FILE {
        return Err(too_large());
    }
    let bytes =
        read_at_most(file, MAX_FILE).with_context(|| format!("{}: cannot read", path.display()))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(too_large());
    }
    Ok(bytes)
}

/// A file's bytes, `limit + 1` of them at most (more than `limit`: too large), so that a device
/// or a pipe that never ends is not read to its end.
pub fn read_at_most(file: std::fs::File, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;

    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Read and decode the model file `name` of an artifacts folder, checked against the folder's
/// record ([`Record::check_artifact`]), which the caller has read once for all its files.
pub fn load_checked<T: Artifact>(
    artifacts: &Path,
    name: &str,
    record: &Record,
) -> anyhow::Result<T> {
    let path = artifacts.join(name);
    let bytes = read_bounded(
        &path,
        "model file (run `cali-reg train` and `cali-reg quantize` first?)",
    )?;
    // A damaged file says how it is damaged; an intact one must still be the record's.
    let value = envelope::decode(&bytes).with_context(|| format!("{}", path.display()))?;
    record.check_artifact(name, &path, &bytes)?;
    Ok(value)
}

/// A lock on an artifacts folder (`.lock` in it): one writing command at a time, and no reading
/// command while one writes, so that model files and `run.json` are always seen together.
#[derive(Debug)]
pub struct Lock {
    /// Held, never read: dropping it unlocks.
    _file: std::fs::File,
}

impl Lock {
    /// For a command that writes the folder. Waits, saying so, while another command holds it.
    pub fn exclusive(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let file = Self::file(dir).with_context(|| format!("cannot lock {}", dir.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                crate::output::stderr(format_args!(
                    "waiting for another cali-reg command working in {}",
                    dir.display()
                ));
                file.lock()
                    .with_context(|| format!("cannot lock {}", dir.display()))?;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", dir.display()));
            }
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

/// Read and decode a file of ours (`what` it should be: "statistics file"); errors name the file.
#[cfg(feature = "train")]
pub fn load<T: Artifact>(path: &Path, what: &str) -> anyhow::Result<T> {
    let bytes = read_bounded(path, what)?;
    envelope::decode(&bytes).with_context(|| format!("{}", path.display()))
}

/// The model `--quantized` selects from the artifacts folder, checked against the record.
pub fn load_predictor(
    artifacts: &Path,
    quantized: bool,
    record: &Record,
) -> anyhow::Result<(Predictor, PathBuf)> {
    let (name, model) = if quantized {
        (
            QUANTIZED,
            AnyModel::Quantized(load_checked(artifacts, QUANTIZED, record)?),
        )
    } else {
        (
            LINEAR,
            AnyModel::Float(load_checked(artifacts, LINEAR, record)?),
        )
    };
    Ok((Predictor::new(model), artifacts.join(name)))
}

/// A model file of either kind, as its header says, with the SHA-256 of its bytes (read once);
/// errors name the file.
#[cfg(feature = "serve")]
pub fn load_any(path: &Path) -> anyhow::Result<(Predictor, String)> {
    let bytes = read_bounded(path, "model file")?;
    Ok((predictor_from_bytes(path, &bytes)?, sha256_hex(&bytes)))
}

/// The bytes of a model file of either kind; `path` names it in errors.
pub fn predictor_from_bytes(path: &Path, bytes: &[u8]) -> anyhow::Result<Predictor> {
    Predictor::decode(bytes).with_context(|| path.display().to_string())
}
