//! `run.json`: the record of a run, updated by each command.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::{Map, Value, json};

use crate::artifacts::{read_at_most, sha256_hex, write_atomically};

/// File name inside the artifacts folder.
pub const FILE: &str = "run.json";

/// A record is a few kilobytes; a larger file (or a device) is not one, and is not read whole.
const MAX_BYTES: u64 = 16 << 20;

/// The record, as a JSON object.
#[derive(Debug)]
pub struct Record {
    path: PathBuf,
    value: Value,
}

impl Record {
    /// Read the record of the artifacts folder, or start an empty one.
    pub fn open(artifacts: &Path) -> anyhow::Result<Self> {
        let path = artifacts.join(FILE);
        let value = match std::fs::File::open(&path).and_then(|f| read_at_most(f, MAX_BYTES)) {
            Ok(bytes) if bytes.len() as u64 > MAX_BYTES => anyhow::bail!(
                "{}: larger than {} MiB, not a record of this tool (delete it to start afresh)",
                path.display(),
                MAX_BYTES >> 20
            ),
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{}: not valid JSON (delete it to start afresh)",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
            Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
        };
        if !value.is_object() {
            anyhow::bail!(
                "{}: not a JSON object (delete it to start afresh)",
                path.display()
            );
        }
        Ok(Self { path, value })
    }

    /// A new record for a training run: what the previous run measured no longer applies.
    #[cfg(feature = "train")]
    pub fn fresh(artifacts: &Path) -> Self {
        Self {
            path: artifacts.join(FILE),
            value: json!({ "tool": { "name": "cali-reg", "version": env!("CARGO_PKG_VERSION") } }),
        }
    }

    /// Write the record of a training run, which starts afresh: its parameters, the float
    /// model's test metrics if it has any, the model file it wrote and how long it took.
    #[cfg(feature = "train")]
    pub fn save_training(
        artifacts: &Path,
        parameters: Value,
        metrics: Option<Value>,
        model: &[u8],
        seconds: f64,
    ) -> anyhow::Result<()> {
        let mut record = Self::fresh(artifacts);
        record.set_section("parameters", parameters);
        if let Some(metrics) = metrics {
            record.set("metrics", "float", metrics);
        }
        record.artifact(crate::artifacts::LINEAR, model);
        record.stage("train", seconds);
        record.save()
    }

    /// The value at a `/`-separated path.
    #[cfg(feature = "train")]
    pub fn get(&self, pointer: &str) -> Option<&Value> {
        self.value.pointer(pointer)
    }

    /// Replace a whole top-level section.
    #[cfg(feature = "train")]
    pub fn set_section(&mut self, section: &str, value: Value) {
        if let Some(root) = self.value.as_object_mut() {
            root.insert(section.to_owned(), value);
        }
    }

    /// Set the value at `section/key`, creating the section.
    pub fn set(&mut self, section: &str, key: &str, value: Value) {
        let Some(root) = self.value.as_object_mut() else {
            return;
        };
        let entry = root
            .entry(section.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        if let Some(obj) = entry.as_object_mut() {
            obj.insert(key.to_owned(), value);
        }
    }

    /// Record a file's size and SHA-256 under `artifacts`.
    pub fn artifact(&mut self, name: &str, bytes: &[u8]) {
        self.set(
            "artifacts",
            name,
            json!({ "bytes": bytes.len(), "sha256": sha256_hex(bytes) }),
        );
    }

    /// Record how long a stage took.
    pub fn stage(&mut self, name: &str, seconds: f64) {
        self.set("stages", name, json!({ "seconds": seconds }));
    }

    /// Check a model file's bytes against what the record says of `name`. The record lists the
    /// SHA-256 of each file its runs wrote: a file that differs was left by a run killed between
    /// writing it and the record, or by two runs at once, and is refused. A folder without a
    /// record (the container image's) is taken as it is.
    pub fn check_artifact(&self, name: &str, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
        let Some(artifacts) = self.value.get("artifacts") else {
            return Ok(());
        };
        match artifacts
            .pointer(&format!("/{name}/sha256"))
            .and_then(Value::as_str)
        {
            Some(sha) if sha == sha256_hex(bytes) => Ok(()),
            Some(_) => anyhow::bail!(
                "{} does not match {} (a run was interrupted, or two ran at once): run `cali-reg train` and `cali-reg quantize` again",
                path.display(),
                self.path.display()
            ),
            None if name == crate::artifacts::QUANTIZED => anyhow::bail!(
                "{} was made before the last training run: run `cali-reg quantize`",
                path.display()
            ),
            None => Ok(()),
        }
    }

    /// Write it back, atomically.
    pub fn save(&self) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(&self.value)?;
        text.push('\n');
        Ok(write_atomically(&self.path, text.as_bytes())?)
    }
}
