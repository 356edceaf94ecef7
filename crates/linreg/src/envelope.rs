//! The model-file format: a fixed header around a MessagePack payload.
//!
//! ```text
//! offset  size  field
//!      0     8  magic  b"CALIREG\0"
//!      8     2  format version, little endian (this build writes 4, reads 1 to 4)
//!     10     1  kind (1 float model, 2 quantised model, 3 sufficient statistics)
//!     11     1  reserved, 0
//!     12     4  payload length, little endian
//!     16     4  CRC-32 (IEEE) of the payload, little endian
//!     20     …  payload: rmp-serde, compact (structs as arrays)
//! ```
//!
//! Version 2 added the covariance of least-squares models (for prediction intervals) to the
//! float model's payload; version 3 the training rows' distributions (for drift), at its end
//! (nil when the model has none); version 4 the statistics' column sketches, at the end of
//! their payload (for the distributions of streaming and merged runs), and a model's
//! distributions may lack the predictions' (nil: a model fitted from statistics files). The
//! quantised model's payload is unchanged.
//!
//! Reading checks every field before the payload is decoded, so a truncated,
//! damaged or foreign file is refused with a message that says which check failed.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::quantized::QuantizedModel;
use crate::sufficient_stats::SufficientStats;

/// The first eight bytes of every file.
pub const MAGIC: [u8; 8] = *b"CALIREG\0";
/// The largest model or statistics file a reader takes: real ones are a few hundred bytes, and a
/// device or a pipe that never ends is refused after this much, not read until memory runs out.
pub const MAX_FILE: u64 = 64 << 20;
/// The format version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u16 = 4;
const HEADER: usize = 20;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A float [`Model`].
    Linear = 1,
    /// A [`QuantizedModel`].
    Quantized = 2,
    /// [`SufficientStats`] of a shard.
    Stats = 3,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Linear),
            2 => Some(Self::Quantized),
            3 => Some(Self::Stats),
            _ => None,
        }
    }

    /// Human name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Linear => "a float model",
            Self::Quantized => "a quantised model",
            Self::Stats => "sufficient statistics",
        }
    }
}

/// A value that can be stored in a model file.
pub trait Artifact: Serialize + DeserializeOwned {
    /// The kind byte written for it.
    const KIND: Kind;
    /// Check a decoded value for consistency.
    fn check(&self) -> Result<()>;
    /// Decode the payload of a file of format `version` (one this build reads).
    fn from_payload(_version: u16, body: &[u8]) -> Result<Self> {
        from_msgpack(body)
    }
}

fn from_msgpack<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    rmp_serde::from_slice(body).map_err(|e| Error::Payload(e.to_string()))
}

impl Artifact for Model {
    const KIND: Kind = Kind::Linear;
    fn check(&self) -> Result<()> {
        self.validate()
    }
    fn from_payload(version: u16, body: &[u8]) -> Result<Self> {
        match version {
            1 => Ok(from_msgpack::<crate::model::ModelV1>(body)?.into()),
            2 => Ok(from_msgpack::<crate::model::ModelV2>(body)?.into()),
            _ => from_msgpack(body),
        }
    }
}

impl Artifact for QuantizedModel {
    const KIND: Kind = Kind::Quantized;
    fn check(&self) -> Result<()> {
        self.validate()
    }
}

/// Sufficient statistics of one shard of a table, with the recipe that made its features,
/// so that shards computed apart are only merged when they describe the same features.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShardStats {
    /// How the shard's features were derived.
    pub recipe: crate::Recipe,
    /// The statistics.
    pub stats: SufficientStats,
    /// Whether the model they are for has an intercept; shards that differ do not merge.
    /// Written only when false, as [`Model::fit_intercept`].
    #[serde(
        default = "crate::model::yes",
        skip_serializing_if = "crate::model::is_true"
    )]
    pub fit_intercept: bool,
}

impl Artifact for ShardStats {
    const KIND: Kind = Kind::Stats;
    fn check(&self) -> Result<()> {
        self.stats.validate()?;
        if self.recipe.features.len() != self.stats.n_features() {
            return Err(Error::Format(String::from(
                "statistics and recipe disagree on the number of features",
            )));
        }
        Ok(())
    }
}

/// The bytes of the MessagePack payload alone (any serialisable value, for size accounting).
pub fn payload<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    rmp_serde::to_vec(value).map_err(|e| Error::Format(format!("cannot encode: {e}")))
}

/// Header plus payload.
pub fn encode<T: Artifact>(value: &T) -> Result<Vec<u8>> {
    let body = payload(value)?;
    let len =
        u32::try_from(body.len()).map_err(|_| Error::Format(String::from("payload over 4 GiB")))?;
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(T::KIND as u8);
    out.push(0);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

fn le_u32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// The format version in a file's header (`None`: too short to hold one).
pub fn version(bytes: &[u8]) -> Option<u16> {
    Some(u16::from_le_bytes([*bytes.get(8)?, *bytes.get(9)?]))
}

/// Read a file's bytes back into a value, checking magic, version, kind, length and checksum.
pub fn decode<T: Artifact>(bytes: &[u8]) -> Result<T> {
    let n = bytes.len().min(MAGIC.len());
    if bytes[..n] != MAGIC[..n] {
        return Err(Error::BadMagic);
    }
    if bytes.len() < HEADER {
        return Err(Error::Truncated(format!(
            "{} bytes, shorter than the {HEADER}-byte header",
            bytes.len()
        )));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version > FORMAT_VERSION {
        return Err(Error::NewerVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if version == 0 {
        return Err(Error::InvalidHeader(String::from(
            "format version 0 is not valid",
        )));
    }
    let kind = Kind::from_byte(bytes[10])
        .ok_or_else(|| Error::InvalidHeader(format!("unknown content kind {}", bytes[10])))?;
    if kind != T::KIND {
        return Err(Error::WrongKind {
            found: kind.name(),
            expected: T::KIND.name(),
        });
    }
    if bytes[11] != 0 {
        return Err(Error::Reserved(bytes[11]));
    }
    let len = le_u32(&bytes[12..16]) as usize;
    let body = &bytes[HEADER..];
    if body.len() < len {
        return Err(Error::Truncated(format!(
            "payload has {} of {len} bytes",
            body.len()
        )));
    }
    if body.len() > len {
        return Err(Error::TrailingBytes(body.len() - len));
    }
    if crc32fast::hash(body) != le_u32(&bytes[16..20]) {
        return Err(Error::Checksum);
    }
    let value = T::from_payload(version, body)?;
    value.check()?;
    Ok(value)
}
