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

/// Set one top-level section of the artifacts folder's run.json.
pub fn update_run_record(
    ctx: &Runner,
    section: &str,
    value: serde_json::Value,
) -> anyhow::Result<()> {
    set_section(&ctx.artifact("run.json"), section, value)
}

/// Set one top-level section of the record at `path`. The binary reads the record as
/// `pipeline::RunRecord`; xtask writes its two sections ([`image_section`],
/// [`stage_section`]) without depending on that library (it builds before anything else), and
/// a test reads what they write through it.
pub fn set_section(
    path: &std::path::Path,
    section: &str,
    value: serde_json::Value,
) -> anyhow::Result<()> {
    // A record that cannot be read is an error, not an empty record to write over it.
    let mut record: serde_json::Value = match std::fs::read(path) {
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
        path,
        (serde_json::to_string_pretty(&record)? + "\n").as_bytes(),
    )
}

/// The record's `image` section: the image built, its id, size, user and smoke run's line.
pub fn image_section(
    image: &str,
    id: &str,
    bytes: u64,
    user: &str,
    smoke: &str,
) -> serde_json::Value {
    json!({ "image": image, "id": id, "bytes": bytes, "user": user, "smoke": smoke })
}

/// One stage's entry of the record's `pipeline` section.
pub fn stage_section(seconds: f64, skipped: bool) -> serde_json::Value {
    json!({ "seconds": seconds, "skipped": skipped })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What xtask writes into run.json is what the binary's typed record reads.
    #[test]
    fn the_sections_xtask_writes_read_as_the_typed_record() {
        let dir = std::env::temp_dir().join(format!("cali-reg-runner-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        pipeline::RunRecord::fresh(pipeline::Parameters::default())
            .save(&dir)
            .expect("a record");
        let path = dir.join("run.json");
        let image = image_section("cali-reg:latest", "sha256:1", 3_672_954, "65534", "line");
        set_section(&path, "image", image).expect("written");
        let stages = json!({ "train": stage_section(0.5, true) });
        set_section(&path, "pipeline", stages).expect("written");
        let record = pipeline::RunRecord::open(&dir)
            .expect("read")
            .expect("there");
        std::fs::remove_dir_all(&dir).expect("cleaned up");
        assert_eq!(
            record.image.map(|i| (i.bytes, i.smoke)),
            Some((3_672_954, String::from("line")))
        );
        let train = record.pipeline.expect("the stages")["train"];
        assert!(train.skipped && (train.seconds - 0.5).abs() < 1e-12);
    }
}
