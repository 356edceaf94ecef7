//! Stage records: what each stage last ran with and produced, so unchanged stages are skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde_json::{Value, json};

/// Lower-case hex SHA-256 of a file, or `None` when it does not exist.
pub fn file_sha256(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(dataset::sha256_hex(&bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// What a stage depends on: names to content hashes or parameter values.
pub type Inputs = BTreeMap<&'static str, String>;

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ran,
    Skipped,
}

/// `artifacts/pipeline.json`: per stage, its inputs and the hashes of its outputs.
#[derive(Debug)]
pub struct Stages {
    path: PathBuf,
    records: serde_json::Map<String, Value>,
    pub force: bool,
    /// Stage name, outcome, seconds.
    pub timings: Vec<(&'static str, Outcome, f64)>,
}

impl Stages {
    pub fn open(artifacts: &Path, force: bool) -> Self {
        let path = artifacts.join("pipeline.json");
        // A missing or unreadable record only means every stage runs.
        let records = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        Self {
            path,
            records,
            force,
            timings: Vec::new(),
        }
    }

    /// Run `work` unless the stage ran before with the same inputs and its outputs are untouched.
    pub fn run(
        &mut self,
        name: &'static str,
        inputs: &Inputs,
        outputs: &[PathBuf],
        work: impl FnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<Outcome> {
        self.run_unless_fresh(name, inputs, outputs, true, work)
    }

    /// As [`run`](Self::run), with a further condition for skipping that files cannot show
    /// (the image the last run built is still in the engine, say).
    pub fn run_unless_fresh(
        &mut self,
        name: &'static str,
        inputs: &Inputs,
        outputs: &[PathBuf],
        still_valid: bool,
        work: impl FnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<Outcome> {
        let inputs_json = json!(inputs);
        let current = outputs_json(outputs)?;
        let unchanged = still_valid
            && self.records.get(name).is_some_and(|r| {
                r["inputs"] == inputs_json
                    && r["outputs"] == current
                    && !current_has_missing(&current)
            });
        if unchanged && !self.force {
            println!("{name:<10} skipped: inputs and outputs unchanged");
            self.timings.push((name, Outcome::Skipped, 0.0));
            return Ok(Outcome::Skipped);
        }
        let start = Instant::now();
        work().with_context(|| format!("stage {name}"))?;
        let seconds = start.elapsed().as_secs_f64();
        println!("{name:<10} done in {seconds:.2} s");
        self.records.insert(
            name.to_owned(),
            json!({ "inputs": inputs_json, "outputs": outputs_json(outputs)? }),
        );
        self.timings.push((name, Outcome::Ran, seconds));
        self.save()?;
        Ok(Outcome::Ran)
    }

    fn save(&self) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(&Value::Object(self.records.clone()))?;
        crate::write_atomically(&self.path, (text + "\n").as_bytes())
    }
}

fn outputs_json(outputs: &[PathBuf]) -> anyhow::Result<Value> {
    let mut map = serde_json::Map::new();
    for o in outputs {
        let name = o
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        map.insert(name, json!(file_sha256(o)?));
    }
    Ok(Value::Object(map))
}

fn current_has_missing(outputs: &Value) -> bool {
    outputs
        .as_object()
        .is_some_and(|m| m.values().any(Value::is_null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn inputs(seed: &str) -> Inputs {
        [("seed", seed.to_owned())].into_iter().collect()
    }

    #[test]
    fn skips_only_when_inputs_and_outputs_are_unchanged() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("xtask-stages-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let out = dir.join("model.bin");
        let runs = Cell::new(0);
        let work = || {
            runs.set(runs.get() + 1);
            std::fs::write(&out, b"model").map_err(Into::into)
        };
        let outputs = [out.clone()];

        let mut s = Stages::open(&dir, false);
        assert_eq!(s.run("train", &inputs("42"), &outputs, work)?, Outcome::Ran);
        // A fresh reader of the record, as a second `cargo xtask pipeline` would be.
        let mut s = Stages::open(&dir, false);
        assert_eq!(
            s.run("train", &inputs("42"), &outputs, work)?,
            Outcome::Skipped
        );
        assert_eq!(
            s.run("train", &inputs("7"), &outputs, work)?,
            Outcome::Ran,
            "new seed"
        );
        std::fs::write(&out, b"tampered")?;
        assert_eq!(
            s.run("train", &inputs("7"), &outputs, work)?,
            Outcome::Ran,
            "output changed"
        );
        std::fs::remove_file(&out)?;
        assert_eq!(
            s.run("train", &inputs("7"), &outputs, work)?,
            Outcome::Ran,
            "output missing"
        );
        let mut forced = Stages::open(&dir, true);
        assert_eq!(
            forced.run("train", &inputs("7"), &outputs, work)?,
            Outcome::Ran,
            "--force"
        );
        assert_eq!(runs.get(), 5);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
