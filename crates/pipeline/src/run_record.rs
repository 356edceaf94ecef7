//! `run.json`: the typed record of a run, and the single commit point of the artifacts folder.
//!
//! A writer puts each new model file beside its place under a pending name (its SHA-256 in the
//! name), then writes the record that names the file by its SHA-256, then renames the file into
//! place. The record's rename is the commit: killed before it, the folder holds the old record
//! and the old files (the pending one is ignored, and removed by the next writer); killed after
//! it, readers find the new file under its pending name until the next writer finishes the
//! rename. Readers load only files whose bytes the record names, so whatever instant a run is
//! killed at, the files a reader uses are all old or all new.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::artifacts::{self, QUANTIZED, is_pending, pending};
use crate::error::{Error, Result};

/// File name inside the artifacts folder.
pub const FILE: &str = "run.json";

/// The record's format: 1 had no `format` key (this layout, untyped); 2 adds the key.
pub const FORMAT: u32 = 2;

/// A record is a few kilobytes; a larger file (or a device) is not one, and is not read whole.
const MAX_BYTES: u64 = 16 << 20;

/// The record of the last training run and of the commands since.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The record's format ([`FORMAT`]); absent in records of format 1.
    #[serde(default = "format_1")]
    pub format: u32,
    /// The tool that wrote it.
    #[serde(default)]
    pub tool: Tool,
    /// What the training run read and how it split it.
    #[serde(default)]
    pub parameters: Parameters,
    /// The scores of the models.
    #[serde(default)]
    pub metrics: RecordedMetrics,
    /// The sizes of the models, by the report's keys.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sizes: BTreeMap<String, Sizes>,
    /// Each file written, by name: what a reader may load.
    #[serde(default)]
    pub artifacts: BTreeMap<String, ArtifactEntry>,
    /// How long each command took, by name.
    #[serde(default)]
    pub stages: BTreeMap<String, Stage>,
    /// The container image, as `cargo xtask pipeline` built it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// The pipeline's stages, as `cargo xtask pipeline` ran them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<BTreeMap<String, PipelineStage>>,
    /// When the training run started (UTC, `2026-12-05T04:35:12.345Z`): with the model's SHA-256,
    /// the name of the run's copy in the history (`runs/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_at: Option<String>,
    /// The MLflow run the training run was logged to (`train --mlflow`), which `quantize` and
    /// `report` add to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<TrackingRecord>,
}

/// The MLflow run a record was logged to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingRecord {
    /// The tracking server's URI.
    pub server: String,
    /// The experiment.
    pub experiment_id: String,
    /// The run.
    pub run_id: String,
}

fn format_1() -> u32 {
    1
}

/// The tool that wrote a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// `cali-reg`.
    pub name: String,
    /// Its version.
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Self {
            name: String::from("cali-reg"),
            version: String::from(env!("CARGO_PKG_VERSION")),
        }
    }
}

/// What a training run read, how it split it, and what it fitted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    /// True for a run that streamed (or merged statistics files).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub streaming: bool,
    /// The permutation split's seed (an in-memory run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The permutation split's test share (an in-memory run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_size: Option<f64>,
    /// How a streaming run held rows out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<StreamedSplit>,
    /// The data read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataRecord>,
    /// The target column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The weight column.
    #[serde(default)]
    pub weight: Option<String>,
    /// The features, in coefficient order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// Rows trained on.
    #[serde(default)]
    pub train_rows: u64,
    /// Rows held out.
    #[serde(default)]
    pub test_rows: u64,
    /// Whether an intercept was fitted.
    #[serde(default = "yes")]
    pub fit_intercept: bool,
    /// The ridge penalty (`train --alpha`); absent for least squares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
}

fn yes() -> bool {
    true
}

/// How a streaming run held rows out: by hash, in a test file, or not at all (a fit from
/// statistics files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum StreamedSplit {
    /// Each row by a hash of its index and the seed.
    #[serde(rename = "hash")]
    Hash {
        /// The seed.
        seed: u64,
        /// The share held out.
        test_size: f64,
    },
    /// The rows of another table.
    #[serde(rename = "test file")]
    TestFile {
        /// The table (its path as text: a name that is not UTF-8 is kept lossily).
        file: String,
    },
    /// None: a fit from statistics files.
    #[serde(rename = "none")]
    NoneHeldOut,
}

impl std::fmt::Display for StreamedSplit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hash { seed, test_size } => {
                write!(f, "hash split, seed {seed}, test size {test_size}")
            }
            Self::TestFile { file } => write!(f, "test file {file}"),
            Self::NoneHeldOut => f.write_str("no held-out rows"),
        }
    }
}

/// The data a training run read: a table, or statistics files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DataRecord {
    /// A table.
    Table(TableRecord),
    /// Statistics files, merged.
    Statistics {
        /// Their paths.
        statistics: Vec<String>,
    },
}

/// A table as a training run read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRecord {
    /// Its name in messages.
    pub file: String,
    /// How it was found (an in-memory run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_by: Option<String>,
    /// Its SHA-256.
    pub sha256: String,
    /// Its data rows.
    pub rows: u64,
    /// Where it was, its size and modification time when hashed.
    #[serde(default)]
    pub stamp: Option<StampRecord>,
}

/// A file's path, size and modification time, so that later commands can tell it is unchanged
/// without hashing it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StampRecord {
    /// The path read.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its modification time, nanoseconds since the Unix epoch.
    pub modified_ns: i64,
}

impl StampRecord {
    /// The stamp of the file at `path` as it is now; `None` where the system cannot say.
    pub fn of(path: &Path) -> Option<Self> {
        let stamp = dataset::Stamp::of(path)?;
        Some(Self {
            path: path.display().to_string(),
            size: stamp.size,
            modified_ns: stamp.modified_ns,
        })
    }
}

/// The scores the record keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordedMetrics {
    /// The float model's on the held-out rows (in-sample when nothing was held out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub float: Option<Scores>,
    /// The quantised model's (from the report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantized: Option<Scores>,
    /// The original's quantisation scheme's (from the report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_scheme: Option<Scores>,
    /// The largest |float − quantised| prediction on the test rows (from the report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_abs_deviation_test: Option<f64>,
    /// Its bound over the training ranges (from the report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_abs_deviation_bound: Option<f64>,
}

/// R², RMSE and MAE; `None` where a path does not compute one (MAE from statistics) or it is
/// not defined (R² of one row).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Coefficient of determination.
    pub r2: Option<f64>,
    /// Root mean squared error.
    pub rmse: Option<f64>,
    /// Mean absolute error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mae: Option<f64>,
    /// True when the rows scored were the training rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_sample: Option<bool>,
}

impl Scores {
    /// Scores of held-out (or, `in_sample`, training) rows.
    pub fn of(metrics: &linreg::Metrics, in_sample: Option<bool>) -> Self {
        Self {
            r2: finite(metrics.r2),
            rmse: finite(metrics.rmse),
            mae: finite(metrics.mae),
            in_sample,
        }
    }
}

/// A number as JSON keeps it: NaN and infinities as `null`.
pub(crate) fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// A model's sizes in the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Sizes {
    /// The file's bytes.
    pub file_bytes: Option<u64>,
    /// The MessagePack payload's bytes.
    pub payload_bytes: Option<u64>,
    /// The parameters' bytes.
    pub parameter_bytes: Option<u64>,
}

/// A file a run wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactEntry {
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256.
    pub sha256: String,
}

impl ArtifactEntry {
    /// The entry of a file's bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            bytes: bytes.len() as u64,
            sha256: dataset::sha256_hex(bytes),
        }
    }
}

/// How long a command took.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// Wall time.
    pub seconds: f64,
}

/// The container image `cargo xtask pipeline` built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// Its tag.
    pub image: String,
    /// Its id.
    pub id: String,
    /// Its size.
    pub bytes: u64,
    /// The user it runs as.
    pub user: String,
    /// What its smoke run printed.
    pub smoke: String,
}

/// A stage of `cargo xtask pipeline`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PipelineStage {
    /// Wall time.
    pub seconds: f64,
    /// Whether it was skipped (nothing it depends on had changed).
    pub skipped: bool,
}

/// A file to commit with a record: its name in the folder and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct NewFile<'a> {
    /// The name.
    pub name: &'a str,
    /// The bytes.
    pub bytes: &'a [u8],
}

impl RunRecord {
    /// A new record for a training run: what the previous run measured no longer applies.
    pub fn fresh(parameters: Parameters) -> Self {
        Self {
            format: FORMAT,
            parameters,
            trained_at: Some(crate::history::utc_now()),
            ..Self::default()
        }
    }

    /// The record of the artifacts folder `dir`; `None` when it has none.
    pub fn open(dir: &Path) -> Result<Option<Self>> {
        Self::open_file(&dir.join(FILE))
    }

    /// The record in the file `path` (a `run.json`, or a copy in the history); `None` when
    /// there is no such file.
    pub fn open_file(path: &Path) -> Result<Option<Self>> {
        let path = path.to_path_buf();
        let bytes =
            match std::fs::File::open(&path).and_then(|f| dataset::read_at_most(f, MAX_BYTES)) {
                Ok(bytes) if bytes.len() as u64 > MAX_BYTES => {
                    return Err(Error::RecordTooLarge {
                        path,
                        limit: MAX_BYTES,
                    });
                }
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(cause) => {
                    return Err(Error::Read {
                        path,
                        what: String::from("run record"),
                        cause,
                    });
                }
            };
        let record: Self =
            serde_json::from_slice(&bytes).map_err(|cause| Error::RecordInvalid {
                path: path.clone(),
                cause,
            })?;
        if record.format > FORMAT {
            return Err(Error::RecordNewer {
                path,
                found: record.format,
                supported: FORMAT,
            });
        }
        Ok(Some(record))
    }

    /// The record of `dir`, or an empty one where it has none (a folder made by hand, as the
    /// container image's, whose files are taken as they are).
    pub fn open_or_empty(dir: &Path) -> Result<Self> {
        Ok(Self::open(dir)?.unwrap_or_default())
    }

    /// Record a file's size and SHA-256.
    pub fn note_file(&mut self, name: &str, bytes: &[u8]) {
        self.artifacts
            .insert(name.to_owned(), ArtifactEntry::of(bytes));
    }

    /// Record how long a command took.
    pub fn note_stage(&mut self, name: &str, seconds: f64) {
        self.stages.insert(name.to_owned(), Stage { seconds });
    }

    /// Write `files` into the folder `dir` and this record beside them, with the record as the
    /// single commit point (see the module's documentation). The files are noted in the record
    /// first. The caller holds the folder's exclusive [`Lock`](crate::Lock).
    pub fn commit(&mut self, dir: &Path, files: &[NewFile<'_>]) -> Result<()> {
        finish_pending(dir, self)?;
        let mut written = Vec::with_capacity(files.len());
        for file in files {
            let entry = ArtifactEntry::of(file.bytes);
            let waiting = pending(dir, file.name, &entry.sha256);
            dataset::write_atomically(&waiting, file.bytes)?;
            self.artifacts.insert(file.name.to_owned(), entry);
            written.push((waiting, dir.join(file.name)));
        }
        self.format = FORMAT;
        self.save(dir)?;
        for (from, to) in written {
            std::fs::rename(&from, &to).map_err(|cause| Error::Rename { from, to, cause })?;
        }
        Ok(())
    }

    /// Write the record (atomically) with no new model file: what `report` adds.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut text =
            serde_json::to_string_pretty(self).map_err(|cause| Error::RecordInvalid {
                path: dir.join(FILE),
                cause,
            })?;
        text.push('\n');
        dataset::write_atomically(&dir.join(FILE), text.as_bytes())?;
        // The run's copy in the history follows the record (quantize and report add to it).
        if let Some(name) = self.history_name() {
            let folder = dir.join(crate::history::FOLDER);
            std::fs::create_dir_all(&folder).map_err(|cause| Error::Write {
                what: folder.display().to_string(),
                cause,
            })?;
            dataset::write_atomically(&folder.join(name), text.as_bytes())?;
        }
        Ok(())
    }

    /// The name of this record's copy in the history (`runs/`):
    /// `<time to the millisecond>-<first 8 hex digits of the model's SHA-256>.json`, which sort
    /// in time order; `None` for a record of no training run.
    pub fn history_name(&self) -> Option<String> {
        let time = self.trained_at.as_deref()?;
        let model = self.artifacts.get(crate::LINEAR)?;
        let compact: String = time.chars().filter(|c| !matches!(c, '-' | ':')).collect();
        Some(format!("{compact}-{}.json", model.sha256.get(..8)?))
    }

    /// The bytes of the file `name` of the folder `dir` that this record names, and the path
    /// they were read from: the file in its place, or a committed file still under its pending
    /// name. A folder without a record (the container image's) is taken as it is.
    pub fn read_file(&self, dir: &Path, name: &str) -> Result<(Vec<u8>, PathBuf)> {
        let path = dir.join(name);
        let what = "model file (run `cali-reg train` and `cali-reg quantize` first?)";
        let Some(entry) = self.artifacts.get(name) else {
            let bytes = artifacts::read_bounded(&path, what)?;
            return if name == QUANTIZED && !self.artifacts.is_empty() {
                // Decode first: a damaged file says how it is damaged.
                artifacts::model_of(name, &path, &bytes)?;
                Err(Error::StaleQuantized { path })
            } else {
                Ok((bytes, path))
            };
        };
        let waiting = pending(dir, name, &entry.sha256);
        if waiting.is_file() {
            let bytes = artifacts::read_bounded(&waiting, what)?;
            if dataset::sha256_hex(&bytes) == entry.sha256 {
                return Ok((bytes, waiting));
            }
        }
        let bytes = artifacts::read_bounded(&path, what)?;
        if dataset::sha256_hex(&bytes) != entry.sha256 {
            // A damaged file says how it is damaged; an intact one must still be the record's.
            artifacts::model_of(name, &path, &bytes)?;
            return Err(Error::NotRecorded {
                path,
                record: dir.join(FILE),
            });
        }
        Ok((bytes, path))
    }

    /// The float model of `dir`.
    pub fn load_float(&self, dir: &Path) -> Result<linreg::Model> {
        let (bytes, path) = self.read_file(dir, crate::LINEAR)?;
        artifacts::decode(&path, &bytes)
    }

    /// The quantised model of `dir`.
    pub fn load_quantized(&self, dir: &Path) -> Result<linreg::QuantizedModel> {
        let (bytes, path) = self.read_file(dir, QUANTIZED)?;
        artifacts::decode(&path, &bytes)
    }

    /// The SHA-256 this record gives for the data file at `path`, if its stamp says the file is
    /// unchanged since it was hashed; `None` for any other file.
    pub fn known_sha256(&self, path: &Path) -> Option<String> {
        let Some(DataRecord::Table(table)) = &self.parameters.data else {
            return None;
        };
        let now = StampRecord::of(path)?;
        let hex = table.sha256.len() == 64
            && table
                .sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        (table.stamp.as_ref() == Some(&now) && hex).then(|| table.sha256.clone())
    }

    /// The SHA-256 of the data the model was trained on, when the record knows it.
    pub fn data_sha256(&self) -> Option<&str> {
        match &self.parameters.data {
            Some(DataRecord::Table(table)) => Some(&table.sha256),
            _ => None,
        }
    }
}

/// Finish what a killed writer committed: a pending file the record names goes into its place;
/// any other pending file (written by a run killed before its commit) is removed.
fn finish_pending(dir: &Path, record: &RunRecord) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let current = RunRecord::open(dir).ok().flatten();
    let named = current.as_ref().unwrap_or(record);
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_pending(&name) {
            continue;
        }
        let path = entry.path();
        let committed = named.artifacts.iter().find(|(file, e)| {
            pending(dir, file, &e.sha256) == path
                && std::fs::read(&path).is_ok_and(|b| dataset::sha256_hex(&b) == e.sha256)
        });
        match committed {
            Some((file, _)) => {
                let to = dir.join(file);
                std::fs::rename(&path, &to).map_err(|cause| Error::Rename {
                    from: path.clone(),
                    to,
                    cause,
                })?;
            }
            // A leftover that nothing names: a run killed before its commit.
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records as cali-reg 0.1.0 wrote them before the record was typed (format 1, no
    /// `format` key): an in-memory run after `report`, and a streaming run.
    const FORMAT_1_MEMORY: &str = r#"{
      "tool": {"name": "cali-reg", "version": "0.1.0"},
      "parameters": {"seed": 42, "test_size": 0.2,
        "data": {"file": "cal_housing.csv", "found_by": "CALI_REG_DATA", "sha256": "534365b6c3c9b07c2b7d88e0ff9f1b41725d8b799748f5c0b80e1067f51c8ab3", "rows": 20640,
                 "stamp": {"path": "/d/cal_housing.csv", "size": 1423529, "modified_ns": 1700000000000000000}},
        "target": "MedHouseVal", "weight": null, "features": ["MedInc"], "train_rows": 16512, "test_rows": 4128, "fit_intercept": true},
      "metrics": {"float": {"r2": 0.5757877060324512, "rmse": 0.7455813830127763, "mae": 0.5332001304956566},
                  "quantized": {"r2": 0.57, "rmse": 0.75, "mae": 0.53}, "original_scheme": {"r2": 0.4854, "rmse": 0.82, "mae": 0.6},
                  "max_abs_deviation_test": 0.01, "max_abs_deviation_bound": 0.02},
      "sizes": {"float": {"file_bytes": 400, "payload_bytes": 380, "parameter_bytes": 72}},
      "artifacts": {"linear_model.msgpack": {"bytes": 400, "sha256": "ab"}},
      "stages": {"train": {"seconds": 0.01}},
      "image": {"image": "cali-reg:latest", "id": "sha256:1", "bytes": 3672954, "user": "65534", "smoke": "Sample predictions: [0.719]"},
      "pipeline": {"train": {"seconds": 0.1, "skipped": false}}
    }"#;

    const FORMAT_1_STREAMING: &str = r#"{
      "tool": {"name": "cali-reg", "version": "0.1.0"},
      "parameters": {"streaming": true, "data": {"statistics": ["a.stats", "b.stats"]},
        "split": {"kind": "none"}, "train_rows": 20640, "test_rows": 0, "fit_intercept": false, "weight": "w"},
      "artifacts": {}, "stages": {}
    }"#;

    fn read(text: &str) -> Result<Option<RunRecord>> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), text).unwrap();
        RunRecord::open(dir.path())
    }

    #[test]
    fn records_of_format_1_are_read() {
        let memory = read(FORMAT_1_MEMORY).unwrap().unwrap();
        assert_eq!(memory.format, 1);
        assert_eq!(memory.parameters.seed, Some(42));
        assert_eq!(
            memory.data_sha256(),
            Some("534365b6c3c9b07c2b7d88e0ff9f1b41725d8b799748f5c0b80e1067f51c8ab3")
        );
        assert_eq!(memory.image.as_ref().unwrap().bytes, 3_672_954);
        assert_eq!(memory.metrics.float.unwrap().mae, Some(0.5332001304956566));
        let streamed = read(FORMAT_1_STREAMING).unwrap().unwrap();
        assert_eq!(streamed.parameters.split, Some(StreamedSplit::NoneHeldOut));
        assert!(!streamed.parameters.fit_intercept);
        assert_eq!(
            streamed.parameters.data,
            Some(DataRecord::Statistics {
                statistics: vec![String::from("a.stats"), String::from("b.stats")]
            })
        );
        // Written back, it reads the same.
        let dir = tempfile::tempdir().unwrap();
        memory.save(dir.path()).unwrap();
        assert_eq!(RunRecord::open(dir.path()).unwrap().unwrap(), memory);
    }

    #[test]
    fn newer_and_broken_records_are_refused() {
        let newer = FORMAT_1_STREAMING.replacen('{', r#"{"format": 3,"#, 1);
        assert!(matches!(
            read(&newer),
            Err(Error::RecordNewer { found: 3, .. })
        ));
        for broken in ["{not json", "[1, 2]", r#"{"parameters": {"seed": "x"}}"#] {
            let e = read(broken).unwrap_err();
            assert!(matches!(e, Error::RecordInvalid { .. }), "{broken}: {e}");
            assert!(!e.to_string().contains('\n'));
        }
        assert!(read("{}").unwrap().is_some());
    }

    #[test]
    fn a_committed_file_is_found_under_its_pending_name_until_renamed() {
        let dir = tempfile::tempdir().unwrap();
        let mut record = RunRecord::fresh(Parameters::default());
        record
            .commit(
                dir.path(),
                &[NewFile {
                    name: crate::LINEAR,
                    bytes: b"new",
                }],
            )
            .unwrap();
        // As if killed before the rename: the file in place is the old one.
        std::fs::rename(
            dir.path().join(crate::LINEAR),
            pending(dir.path(), crate::LINEAR, &dataset::sha256_hex(b"new")),
        )
        .unwrap();
        std::fs::write(dir.path().join(crate::LINEAR), b"old").unwrap();
        let (bytes, path) = record.read_file(dir.path(), crate::LINEAR).unwrap();
        assert_eq!(bytes, b"new");
        assert!(path.to_string_lossy().ends_with(".pending"));
        // The next commit finishes the rename before its own files.
        let mut next = RunRecord::open(dir.path()).unwrap().unwrap();
        next.commit(dir.path(), &[]).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join(crate::LINEAR)).unwrap(),
            b"new"
        );
    }
}
