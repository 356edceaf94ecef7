//! `cargo xtask`: the project's automation, in Rust.
//!
//! - `cargo xtask pipeline`: train → quantise → predict → container build and smoke run → size report,
//!   skipping stages whose inputs and outputs are unchanged (as `dvc repro` does).
//!
//! It runs `cargo` through `$CARGO` and the built `cali-reg` binary as a process; it shares no code with the CLI.

mod bench;
mod container;
mod http;
mod loadtest;
mod pipeline;
mod stages;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  gen-data   --rows N --features D --seed S -o FILE: a synthetic CSV, y = x·β + 2 + N(0, 0.5²),
             β_j = ±0.5·(j+1) (signs alternate)
  bench      parse-only floor, streaming and in-memory train, streaming predict on 10^6 and 10^7
             rows (wall, CPU, peak RSS); California train, quantize, predict as processes
             --rows A,B  --dir DIR (default: $TMPDIR/cali-reg-bench)
             --compare-python  pandas + scikit-learn, and the original's three steps, beside them
  loadtest   20,000 single-row and 2,000 thousand-row requests to `cali-reg serve` on loopback,
             then 16 concurrent 10 MiB bodies (peak RSS, and RSS after 5 s idle)
  man        write the manual page, from the binary's own definitions, to target/man/cali-reg.1
  pipeline   train, quantise, predict, build and smoke-run the container image, report
             --force              rerun every stage
             --require-container  fail when no Docker engine answers (implied by CI=true)
             --no-container       skip the container stage
             --data FILE          data file (default: $CALI_REG_DATA, the cache, a download)
             --seed N             split seed (default 42)
             --test-size F        test share (default 0.2)
             --artifacts DIR      output folder (default: artifacts/)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("pipeline") => pipeline::Options::parse(&args[1..]).and_then(|o| pipeline::run(&o)),
        Some("gen-data") => gen_data(&args[1..]),
        Some("bench") => bench::bench(&args[1..]),
        Some("loadtest") => loadtest::loadtest(),
        Some("man") => man(),
        Some("-h" | "--help") | None => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprint!("error: unknown task {other:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask man`: the manual page the binary renders from its own argument definitions.
fn man() -> anyhow::Result<()> {
    use anyhow::Context;

    let root = project_root();
    let bin = pipeline::build_binary(&root)?;
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

/// Write through a sibling temporary file and a rename, so a reader never sees half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    // A name of this process's own, so two runs never write one temporary file.
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

fn gen_data(args: &[String]) -> anyhow::Result<()> {
    use anyhow::Context;
    let (mut rows, mut features, mut seed, mut out) = (None, 8_usize, 1_u64, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().with_context(|| format!("{a} needs a value"))?;
        match a.as_str() {
            "--rows" => rows = Some(v.parse::<u64>().context("--rows takes a number")?),
            "--features" => features = v.parse().context("--features takes a number")?,
            "--seed" => seed = v.parse().context("--seed takes a number")?,
            "-o" | "--output" => out = Some(PathBuf::from(v)),
            other => anyhow::bail!("unknown option {other:?}"),
        }
    }
    let rows = rows.context("--rows N is required")?;
    let out = out.context("-o FILE is required")?;
    bench::gen_data(rows, features, seed, &out)?;
    println!(
        "{}: {rows} rows, coefficients {:?}, intercept {}",
        out.display(),
        bench::true_coefficients(features),
        bench::TRUE_INTERCEPT
    );
    Ok(())
}
