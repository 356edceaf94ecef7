//! Model files on disk: names, atomic writes, loading with the file named in every error.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use linreg::envelope::{self, Artifact};
use linreg::{Model, QuantizedModel, Recipe};
#[cfg(feature = "train")]
use nalgebra::{DMatrix, DVector};
use sha2::{Digest, Sha256};

/// The float model's file name.
pub const LINEAR: &str = "linear_model.msgpack";
/// The quantised model's file name.
pub const QUANTIZED: &str = "quant_model.msgpack";

/// Write through a temporary file in the same folder and a rename: never a half-written file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut tmp = temporary_beside(path)?;
    tmp.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    persist(tmp, path)
}

/// A temporary file in the folder of `path` (created if needed), to be [`persist`]ed there.
pub fn temporary_beside(path: &Path) -> anyhow::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))
}

/// Give a finished temporary file its final name, readable by all as a file written with the
/// usual umask would be (the image's non-root user reads the model files).
pub fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> anyhow::Result<()> {
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Encode and write a model file; returns its bytes.
pub fn save<T: Artifact>(path: &Path, value: &T) -> anyhow::Result<Vec<u8>> {
    let bytes = envelope::encode(value).with_context(|| format!("{}", path.display()))?;
    write_atomically(path, &bytes)?;
    Ok(bytes)
}

/// The largest model or statistics file read: real ones are a few hundred bytes.
pub const MAX_FILE: u64 = 64 << 20;

/// A model or statistics file's bytes, refusing one over [`MAX_FILE`] before reading it (and
/// reading at most that much from a device or a pipe that never ends).
pub fn read_bounded(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;

    let file = std::fs::File::open(path).with_context(|| {
        format!(
            "{}: cannot read model file (run `cali-reg train` and `cali-reg quantize` first?)",
            path.display()
        )
    })?;
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
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Read and decode a model file; errors name the file.
pub fn load<T: Artifact>(path: &Path) -> anyhow::Result<T> {
    let bytes = read_bounded(path)?;
    envelope::decode(&bytes).with_context(|| format!("{}", path.display()))
}

/// The float or the quantised model, behind one interface.
#[derive(Debug, Clone)]
pub enum Predictor {
    /// The float model.
    Float(Model),
    /// The quantised model.
    Quantized(QuantizedModel),
}

impl Predictor {
    /// Load the model `--quantized` selects from the artifacts folder.
    pub fn load(artifacts: &Path, quantized: bool) -> anyhow::Result<(Self, PathBuf)> {
        if quantized {
            let path = artifacts.join(QUANTIZED);
            Ok((Self::Quantized(load(&path)?), path))
        } else {
            let path = artifacts.join(LINEAR);
            Ok((Self::Float(load(&path)?), path))
        }
    }

    /// Load a model file of either kind.
    pub fn load_any(path: &Path) -> anyhow::Result<Self> {
        Self::from_bytes(path, &read_bounded(path)?)
    }

    /// Decode the bytes of a model file of either kind; `path` names it in errors.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> anyhow::Result<Self> {
        match envelope::decode::<Model>(bytes) {
            Ok(m) => Ok(Self::Float(m)),
            Err(float_err) => match envelope::decode::<QuantizedModel>(bytes) {
                Ok(q) => Ok(Self::Quantized(q)),
                // Report the quantised decoder's complaint only when the file says it is one.
                Err(q_err) if float_err.to_string().starts_with("holds a quantised") => {
                    Err(anyhow::Error::new(q_err).context(path.display().to_string()))
                }
                Err(_) => Err(anyhow::Error::new(float_err).context(path.display().to_string())),
            },
        }
    }

    pub fn recipe(&self) -> &Recipe {
        match self {
            Self::Float(m) => &m.recipe,
            Self::Quantized(q) => &q.recipe,
        }
    }

    pub fn coefficients(&self) -> Vec<f64> {
        match self {
            Self::Float(m) => m.coefficients.clone(),
            Self::Quantized(q) => q.coefficients(),
        }
    }

    pub fn intercept(&self) -> f64 {
        match self {
            Self::Float(m) => m.intercept,
            Self::Quantized(q) => q.intercept,
        }
    }

    pub fn ranges(&self) -> (Vec<f64>, Vec<f64>) {
        match self {
            Self::Float(m) => (m.feature_min.clone(), m.feature_max.clone()),
            Self::Quantized(q) => q.ranges(),
        }
    }

    #[cfg(feature = "train")]
    pub fn predict(&self, x: &DMatrix<f64>) -> anyhow::Result<DVector<f64>> {
        Ok(match self {
            Self::Float(m) => m.predict(x)?,
            Self::Quantized(q) => q.predict(x)?,
        })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Float(_) => "float",
            Self::Quantized(_) => "quantised",
        }
    }
}
