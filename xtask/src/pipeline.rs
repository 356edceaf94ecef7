//! `cargo xtask pipeline`: the stages, in order, each skipped when nothing it depends on changed.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::runner::{Runner, stage_section, update_run_record};
use crate::stages::{Inputs, Outcome, Stages, file_sha256};
use crate::{cargo, container, project_root};

/// `cargo xtask pipeline`'s options.
#[derive(Debug, Default, clap::Args)]
pub struct Options {
    /// Rerun every stage
    #[arg(long)]
    pub force: bool,
    /// Fail when no Docker engine answers (implied by CI=true)
    #[arg(long)]
    pub require_container: bool,
    /// Skip the container stage
    #[arg(long)]
    pub no_container: bool,
    /// Data file (default: as cali-reg finds it: $CALI_REG_DATA, the cache, a download)
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Split seed (default: cali-reg's, 42)
    #[arg(long)]
    pub seed: Option<String>,
    /// Test share (default: cali-reg's, 0.2)
    #[arg(long)]
    pub test_size: Option<String>,
    /// Output folder (default: artifacts/)
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
}

impl Options {
    /// In CI the container is part of the job: a missing engine is a failure, not a skip.
    pub fn in_ci(mut self) -> Self {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            self.require_container = true;
        }
        self
    }
}

/// Where the binary finds the data (`cali-reg locate --json`: path, how it was found, SHA-256):
/// xtask does not search for it itself.
pub fn locate(bin: &Path, data: Option<&Path>) -> anyhow::Result<serde_json::Value> {
    let mut locate = Command::new(bin);
    locate.args(["locate", "--json"]);
    if let Some(d) = data {
        locate.arg("--data").arg(d);
    }
    let out = locate.output().context("cannot run cali-reg locate")?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        bail!("{}", said.trim().trim_start_matches("error: "));
    }
    serde_json::from_slice(&out.stdout).context("cali-reg locate answered something else")
}

/// The data's SHA-256, as the binary finds the data.
fn data_fingerprint(bin: &Path, opts: &Options) -> anyhow::Result<String> {
    locate(bin, opts.data.as_deref())?["sha256"]
        .as_str()
        .map(str::to_owned)
        .context("cali-reg locate gave no sha256")
}

/// Build `cali-reg` (release) and return its path; every task that runs it uses this.
pub fn build_binary(root: &Path, build: Build) -> anyhow::Result<PathBuf> {
    let features: &[&str] = match build {
        Build::Full => &[],
        Build::Csv => &["--no-default-features", "--features", "train,serve"],
    };
    println!(
        "build      cargo build --release -p cli {}",
        features.join(" ")
    );
    // A first build compiles every dependency: say so, and for about how long, before cargo
    // starts (measured on 2 cores: docs/BENCHMARKS.md).
    if !root.join("target/release/cali-reg").exists() {
        let minutes = match build {
            Build::Full => "6",
            Build::Csv => "2",
        };
        println!("           a first build: about {minutes} minutes on 2 cores, fewer on more");
    }
    // On a terminal cargo shows what it compiles and how far it is (a cold build takes minutes);
    // in a log, its lines would bury the stages'.
    let quiet = (!std::io::stderr().is_terminal()).then_some("--quiet");
    let status = cargo()
        .current_dir(root)
        .args(["build", "--release", "--package", "cli"])
        .args(features)
        .args(quiet)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build failed ({status})");
    }
    Ok(root.join("target/release/cali-reg"))
}

/// Which `cali-reg` to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// The default build, with Parquet and Arrow IPC (polars).
    Full,
    /// Without polars: the pipeline's stages read a CSV (and the build takes a third as long).
    Csv,
}

pub fn run(opts: &Options) -> anyhow::Result<()> {
    let root = project_root();
    let ctx = runner(&root, opts)?;
    let given = |v: &Option<String>| v.clone().unwrap_or_else(|| String::from("default"));
    let fingerprints = Fingerprints {
        binary: file_sha256(&ctx.bin)?.unwrap_or_default(),
        data: data_fingerprint(&ctx.bin, opts)?,
        // Seed and test size go to the binary only when given: its defaults are the defaults.
        // A stage's record says "default" then; a new binary (an input) reruns it anyway.
        seed: given(&opts.seed),
        test_size: given(&opts.test_size),
    };
    let mut stages = Stages::open(&ctx.artifacts, opts.force);
    model_stages(&ctx, &mut stages, &fingerprints)?;
    if opts.no_container {
        println!("container  skipped: --no-container");
    } else {
        container::stage(&root, &ctx, &mut stages, opts.require_container)?;
    }
    let image = container::recorded_image(&ctx).unwrap_or_default();
    stages.run(
        "report",
        &fingerprints.inputs(&[&fingerprints.models(&ctx)?[..], &[("image", image)]].concat()),
        &[ctx.artifact("report.md"), ctx.artifact("predictions.svg")],
        || ctx.cali_reg(&["report"]).map(drop),
    )?;
    record_timings(&ctx, &stages)
}

/// What the stages' inputs are made of.
struct Fingerprints {
    binary: String,
    data: String,
    seed: String,
    test_size: String,
}

impl Fingerprints {
    /// A stage's inputs: the binary, and `extra`.
    fn inputs(&self, extra: &[(&'static str, String)]) -> Inputs {
        let mut i: Inputs = [("binary", self.binary.clone())].into_iter().collect();
        i.extend(extra.iter().cloned());
        i
    }

    /// The data and both models, as the later stages read them.
    fn models(&self, ctx: &Runner) -> anyhow::Result<Vec<(&'static str, String)>> {
        Ok(vec![
            ("data", self.data.clone()),
            ("linear_model", ctx.hash("linear_model.msgpack")?),
            ("quant_model", ctx.hash("quant_model.msgpack")?),
        ])
    }
}

/// Train, quantise, and predict the sample rows (kept for the image).
fn model_stages(ctx: &Runner, stages: &mut Stages, fp: &Fingerprints) -> anyhow::Result<()> {
    stages.run(
        "train",
        &fp.inputs(&[
            ("data", fp.data.clone()),
            ("seed", fp.seed.clone()),
            ("test_size", fp.test_size.clone()),
        ]),
        &[ctx.artifact("linear_model.msgpack")],
        || ctx.cali_reg(&["train"]).map(drop),
    )?;
    stages.run(
        "quantize",
        &fp.inputs(&[("linear_model", ctx.hash("linear_model.msgpack")?)]),
        &[ctx.artifact("quant_model.msgpack")],
        || ctx.cali_reg(&["quantize"]).map(drop),
    )?;
    stages.run(
        "predict",
        &fp.inputs(&fp.models(ctx)?),
        &[
            ctx.artifact("samples.csv"),
            ctx.artifact("sample_predictions.txt"),
        ],
        || {
            let samples = ctx.artifact("samples.csv").display().to_string();
            let line = ctx.cali_reg(&["predict", "--quantized", "--save-samples", &samples])?;
            std::fs::write(ctx.artifact("sample_predictions.txt"), line)
                .context("cannot write sample_predictions.txt")
        },
    )?;
    Ok(())
}

/// Add the pipeline's stage times to run.json.
fn record_timings(ctx: &Runner, stages: &Stages) -> anyhow::Result<()> {
    let timings: serde_json::Map<String, serde_json::Value> = stages
        .timings
        .iter()
        .map(|(name, outcome, seconds)| {
            let v = stage_section(*seconds, *outcome == Outcome::Skipped);
            ((*name).to_owned(), v)
        })
        .collect();
    update_run_record(ctx, "pipeline", serde_json::Value::Object(timings))
}

/// The artifacts folder (made if missing), the release binary (built), and the options every
/// call of it takes: `--artifacts`, and `--seed`, `--test-size`, `--data` where given.
fn runner(root: &Path, opts: &Options) -> anyhow::Result<Runner> {
    let artifacts = opts
        .artifacts
        .clone()
        .unwrap_or_else(|| root.join("artifacts"));
    std::fs::create_dir_all(&artifacts)
        .with_context(|| format!("cannot create {}", artifacts.display()))?;
    // The stages read a CSV: without polars the cold build takes a third of the time. A
    // columnar table given with --data needs the full build.
    let columnar = opts
        .data
        .as_deref()
        .is_some_and(|d| dataset::columnar::kind(d).is_some());
    let bin = build_binary(root, if columnar { Build::Full } else { Build::Csv })?;
    let mut common = vec![String::from("--artifacts"), artifacts.display().to_string()];
    for (flag, value) in [("--seed", &opts.seed), ("--test-size", &opts.test_size)] {
        if let Some(v) = value {
            common.extend([String::from(flag), v.clone()]);
        }
    }
    if let Some(d) = &opts.data {
        common.extend([String::from("--data"), d.display().to_string()]);
    }
    Ok(Runner {
        bin,
        artifacts,
        common,
    })
}
