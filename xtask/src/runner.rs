//! The release binary as the pipeline's stages run it, and the record they add to.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::json;

use crate::stages::file_sha256;
use crate::write_atomically;

/// Everything a stage needs to run the binary.
pub struct Runner {
    pub bin: PathBuf,
    pub artifacts: PathBuf,
    pub common: Vec<String>,
}

impl Runner {
    /// Run `cali-reg <args> <common>`, echo its output indented, return stdout.
    pub fn cali_reg(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new(&self.bin)
            .args(args)
            .args(&self.common)
            .output()
            .with_context(|| format!("cannot run {}", self.bin.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        for line in stdout.lines() {
            println!("  {line}");
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        for line in stderr.lines() {
            eprintln!("  {line}");
        }
        if !out.status.success() {
            bail!("cali-reg {} failed ({})", args.join(" "), out.status);
        }
        Ok(stdout)
    }

    pub fn artifact(&self, name: &str) -> PathBuf {
        self.artifacts.join(name)
    }

    pub fn hash(&self, name: &str) -> anyhow::Result<String> {
        Ok(file_sha256(&self.artifact(name))?.unwrap_or_default())
    }
}

/// Set one top-level section of run.json.
pub fn update_run_record(
    ctx: &Runner,
    section: &str,
    value: serde_json::Value,
) -> anyhow::Result<()> {
    let path = ctx.artifact("run.json");
    // A record that cannot be read is an error, not an empty record to write over it.
    let mut record: serde_json::Value = match std::fs::read(&path) {
        Ok(b) => {
            serde_json::from_slice(&b).with_context(|| format!("{}: not JSON", path.display()))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    if let Some(obj) = record.as_object_mut() {
        obj.insert(section.to_owned(), value);
    }
    write_atomically(
        &path,
        (serde_json::to_string_pretty(&record)? + "\n").as_bytes(),
    )
}
