//! `cargo xtask`: the project's automation, in Rust.
//!
//! - `cargo xtask pipeline`: train → quantise → predict → container build and smoke run → size report,
//!   skipping stages whose inputs and outputs are unchanged (as `dvc repro` does).
//! - `cargo xtask dist`: the release files, each checked.
//!
//! It runs `cargo` through `$CARGO` and the built `cali-reg` binary as a process; of the
//! project's libraries it shares only `dataset`'s atomic writer.

mod bench;
mod conformance;
mod container;
mod dist;
mod gen_data;
mod http;
mod loadtest;
mod pipeline;
mod runner;
mod stages;
#[cfg(test)]
mod tidy;
mod venv;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The project's automation: `cargo xtask <task>`.
#[derive(Debug, Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Train, quantise, predict, build and smoke-run the container image, report; stages whose
    /// inputs and outputs are unchanged are skipped
    Pipeline(pipeline::Options),
    /// Write a synthetic table: y = x·β + 2 + N(0, 0.5²), β_j = ±0.5·(j+1), signs alternating
    GenData {
        /// Rows
        #[arg(long)]
        rows: u64,
        /// Feature columns
        #[arg(long, default_value_t = 8)]
        features: usize,
        /// Seed of the generator
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The file to write
        #[arg(short, long = "output", value_name = "FILE")]
        output: PathBuf,
        /// CSV, or Parquet in 16 row groups (the CSV converted by the release build's
        /// `cali-reg convert`)
        #[arg(long, value_enum, default_value_t = gen_data::Format::Csv)]
        format: gen_data::Format,
    },
    /// Parse-only floor, streaming and in-memory train, streaming predict (wall, CPU, peak RSS),
    /// and California's three steps as processes
    Bench(bench::Options),
    /// 20,000 one-row and 2,000 thousand-row requests to `cali-reg serve` on loopback, then 16
    /// concurrent 10 MiB bodies (peak RSS, and RSS after 5 s idle)
    Loadtest,
    /// The release files in target/dist/: the static binary's tarball, the abi3 manylinux
    /// wheel, the image (`docker save`, when an engine answers) and SHA256SUMS; then each is
    /// checked as a user would meet it
    Dist,
    /// Write the manual page, from the binary's own definitions, to target/man/cali-reg.1
    Man,
    /// `cali-reg serve` against a real MLflow scoring server (installed in
    /// target/venv-conformance): the same battery of requests to both, every difference
    /// documented or a failure
    Conformance,
    /// The tests: set up the Python clients they check against (target/venv-test, from
    /// xtask/python/test.txt), then `cargo test --workspace` with CALI_REG_PYTHON naming it;
    /// further arguments go to cargo test
    Test {
        /// Passed on to `cargo test --workspace`
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    // clap prints help and usage errors itself (exit 0 and 2).
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Pipeline(options) => pipeline::run(&options.in_ci()),
        Task::GenData {
            rows,
            features,
            seed,
            output,
            format,
        } => gen_data::run(rows, features, seed, &output, format),
        Task::Bench(options) => bench::bench(&options),
        Task::Loadtest => loadtest::loadtest(),
        Task::Dist => dist::dist(),
        Task::Man => man(),
        Task::Conformance => conformance::conformance(),
        Task::Test { args } => test(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask test`: the Python clients, the workspace's tests with their path, then the
/// Python package built and installed as a user would (`pip install ./crates/python`) and its
/// tests (pytest, scikit-learn's estimator checks among them) against the same binary.
fn test(args: &[String]) -> anyhow::Result<()> {
    use anyhow::Context;

    let root = project_root();
    let python = venv::ensure(&root, "venv-test", "test.txt")?;
    // MLflow in a venv of its own (its pins and Spark's do not mix); `conformance` uses it too.
    let mlflow = venv::ensure(&root, "venv-conformance", "conformance.txt")?;
    // Evidently in a venv of its own (it needs pandas 2).
    let evidently = venv::ensure(&root, "venv-evidently", "evidently.txt")?;
    let run = |command: &mut std::process::Command, what: &str| -> anyhow::Result<()> {
        venv::run(command).with_context(|| format!("{what} failed"))
    };
    run(
        cargo()
            .args(["test", "--workspace"])
            .args(args)
            .env("CALI_REG_PYTHON", &python)
            .env("CALI_REG_MLFLOW_PYTHON", &mlflow)
            .env("CALI_REG_EVIDENTLY_PYTHON", &evidently),
        "cargo test",
    )?;
    if !args.is_empty() {
        return Ok(()); // a selection of Rust tests: the Python package's are not part of it
    }
    println!("python     pip install ./crates/python, then pytest crates/python/tests");
    run(
        venv::pip_install(&python)
            .args(["--no-build-isolation", "--force-reinstall", "--no-deps"])
            .arg(root.join("crates/python"))
            .env("PATH", venv::path_with(&python)),
        "pip install ./crates/python",
    )?;
    run(
        std::process::Command::new(&python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(root.join("crates/python/tests"))
            .env("CALI_REG_BIN", root.join("target/debug/cali-reg"))
            // scikit-learn skips its array-API check without it; with it, the check runs.
            .env("SCIPY_ARRAY_API", "1"),
        "pytest crates/python/tests",
    )
}

/// `cargo xtask man`: the manual page the binary renders from its own argument definitions.
fn man() -> anyhow::Result<()> {
    use anyhow::Context;

    let root = project_root();
    let bin = pipeline::build_binary(&root, pipeline::Build::Full)?;
    let out = std::process::Command::new(&bin)
        .arg("man")
        .output()
        .context("cannot run cali-reg man")?;
    if !out.status.success() {
        anyhow::bail!(
            "cali-reg man failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = root.join("target/man");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let page = dir.join("cali-reg.1");
    write_atomically(&page, &out.stdout)?;
    println!(
        "wrote {} (read it with `man {}`)",
        page.display(),
        page.display()
    );
    Ok(())
}

/// The workspace root: the folder above this crate's manifest.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The cargo that runs us (`$CARGO`), else `cargo` on the PATH.
pub fn cargo() -> std::process::Command {
    std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Write through a sibling temporary file and a rename, so a reader never sees half a file:
/// the binary's writer ([`dataset::write_atomically`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    Ok(dataset::write_atomically(path, bytes)?)
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    /// The package names of the workspace, from the members' manifests.
    fn packages() -> Vec<String> {
        let root = crate::project_root();
        let mut manifests = vec![root.join("xtask/Cargo.toml")];
        for entry in std::fs::read_dir(root.join("crates")).expect("crates/") {
            manifests.push(entry.expect("an entry").path().join("Cargo.toml"));
        }
        manifests
            .iter()
            .filter_map(|m| std::fs::read_to_string(m).ok())
            .filter_map(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("name = \""))
                    .map(|rest| rest.trim_end_matches('"').to_owned())
            })
            .collect()
    }

    #[test]
    fn the_workflow_names_packages_that_exist() {
        // The GitHub workflow never runs here: this is what keeps its `-p` arguments honest.
        let known = packages();
        assert!(
            known.contains(&String::from("cali-reg-linreg")),
            "{known:?}"
        );
        let dir = crate::project_root().join(".github/workflows");
        let mut named = Vec::new();
        for entry in std::fs::read_dir(&dir).expect(".github/workflows") {
            let text =
                std::fs::read_to_string(entry.expect("an entry").path()).expect("a workflow");
            let words: Vec<&str> = text.split_whitespace().collect();
            for pair in words.windows(2) {
                if matches!(pair[0], "-p" | "--package") && !pair[1].starts_with("${{") {
                    named.push(pair[1].to_owned());
                }
            }
            // The per-crate matrix: `crate: [a, b, …]`.
            for line in text
                .lines()
                .filter(|l| l.trim_start().starts_with("crate: ["))
            {
                let list = line.split_once('[').and_then(|(_, r)| r.split_once(']'));
                named.extend(
                    list.into_iter()
                        .flat_map(|(l, _)| l.split(','))
                        .map(|c| c.trim().to_owned()),
                );
            }
        }
        assert!(named.len() >= 5, "{named:?}");
        for name in named {
            assert!(
                known.contains(&name),
                "the workflow names {name:?}, not a package of {known:?}"
            );
        }
    }

    #[test]
    fn every_task_has_help_and_well_formed_arguments() {
        Cli::command().debug_assert();
        for task in [
            "pipeline",
            "gen-data",
            "bench",
            "loadtest",
            "man",
            "test",
            "conformance",
        ] {
            let help = Cli::try_parse_from(["cargo xtask", task, "--help"]).map(|_| ());
            let kind = help.err().map(|e| e.kind());
            assert_eq!(kind, Some(clap::error::ErrorKind::DisplayHelp), "{task}");
        }
        assert!(
            Cli::try_parse_from(["cargo xtask", "gen-data", "--rows", "x", "-o", "f"]).is_err()
        );
    }

    /// polars compiles into the training build only: not into the image's binary, the
    /// libraries other projects depend on, or the Python package.
    #[test]
    fn polars_stays_out_of_the_inference_path() {
        let tree = |args: &[&str]| {
            let out = std::process::Command::new(env!("CARGO"))
                .current_dir(crate::project_root())
                .args(["tree", "--edges", "normal", "--prefix", "none", "--offline"])
                .args(args)
                .output()
                .expect("cargo tree");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).expect("UTF-8")
        };
        let image = [
            "--package",
            "cli",
            "--no-default-features",
            "--features",
            "serve",
        ];
        for args in [
            &image[..],
            &["--package", "cali-reg-linreg"],
            &["--package", "cali-reg-quant"],
            &["--package", "cali-reg-onnx"],
            &["--package", "cali-reg-python"],
            &["--package", "cali-reg-pipeline"],
            &["--package", "cali-reg-serve"],
        ] {
            let deps = tree(args);
            assert!(
                !deps.contains("polars"),
                "{args:?} pulls in polars:\n{deps}"
            );
        }
        assert!(tree(&["--package", "cli"]).contains("polars"));
    }
}
