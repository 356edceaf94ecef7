//! `cargo xtask dist`: the release files in `target/dist/`, then a check of each as a user
//! would meet it.
//!
//! - `cali-reg-VERSION-x86_64-linux.tar.gz`: the default `cali-reg` (CSV, Parquet, Arrow IPC,
//!   the server), linked statically against glibc, with LICENSE and README.md;
//! - the Python package as one abi3 manylinux2014 wheel (maturin, with zig as the linker, so
//!   that it asks for no glibc newer than 2.17);
//! - `cali-reg-VERSION-image.tar`, `docker save` of the image, when a Docker engine answers (the
//!   image comes from the pipeline's container stage, run first);
//! - `SHA256SUMS`, in `sha256sum`'s format.
//!
//! The checks: `sha256sum -c SHA256SUMS`; the tarball's binary run from an empty folder with an
//! empty environment but for the data set, training and predicting the original's sample line;
//! the wheel installed into a fresh venv whose `PATH` has no Rust, imported, and loading the
//! model that binary wrote; the saved image loaded back and run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::{cargo, container, pipeline, project_root, venv};

const TARGET: &str = "x86_64-unknown-linux-gnu";
/// The float model's sample line, the Python original's (see docs/ACCURACY.md).
const SAMPLE_LINE: &str = "Sample predictions: [0.719 1.764 2.710 2.839 2.605]";
/// The quantised model's, which the image prints.
const QUANTIZED_LINE: &str = "Sample predictions: [0.719 1.765 2.710 2.841 2.605]";

pub fn dist() -> anyhow::Result<()> {
    let root = project_root();
    let out = root.join("target/dist");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot empty {}", out.display()))?;
    }
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;

    let binary = build_static(&root)?;
    let version = version_of(&binary)?;
    let mut files = vec![tarball(&root, &binary, &version, &out)?];
    files.push(wheel(&root, &out)?);
    match container::engine() {
        Ok(()) => files.push(image(&version, &out)?),
        Err(why) => println!("dist       no image: no Docker engine answers ({why})"),
    }
    let sums: String = files
        .iter()
        .map(|file| -> anyhow::Result<String> {
            let bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            Ok(format!("{}  {}\n", dataset::sha256_hex(&bytes), name(file)))
        })
        .collect::<anyhow::Result<_>>()?;
    crate::write_atomically(&out.join("SHA256SUMS"), sums.as_bytes())?;

    println!("check      sha256sum -c SHA256SUMS");
    venv::run(
        Command::new("sha256sum")
            .args(["--check", "--quiet", "SHA256SUMS"])
            .current_dir(&out),
    )
    .context("the release files do not match SHA256SUMS")?;
    let scratch = fresh_dir(&root.join("target/dist-check"))?;
    let model = check_tarball(&files[0], &scratch)?;
    check_wheel(&files[1], &scratch, &model)?;
    if let Some(image) = files.get(2) {
        check_image(image, &version)?;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    println!("dist       {}:", out.display());
    for file in files.iter().chain([&out.join("SHA256SUMS")]) {
        let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        println!("  {:>11} bytes  {}", bytes, name(file));
    }
    Ok(())
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `dir`, emptied (or made).
fn fresh_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir.to_path_buf())
}

/// The default `cali-reg`, statically linked against glibc, stripped.
fn build_static(root: &Path) -> anyhow::Result<PathBuf> {
    println!(
        "dist       cargo build --release -p cli --target {TARGET} (static, default features)"
    );
    venv::run(
        cargo()
            .current_dir(root)
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .env("CARGO_PROFILE_RELEASE_STRIP", "true")
            .args(["build", "--release", "--package", "cli", "--target", TARGET]),
    )
    .context("the static build failed")?;
    Ok(root.join("target").join(TARGET).join("release/cali-reg"))
}

/// `0.1.0` from `cali-reg 0.1.0 (commit …)`.
fn version_of(binary: &Path) -> anyhow::Result<String> {
    let out = Command::new(binary)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .nth(1)
        .map(str::to_owned)
        .with_context(|| format!("no version in {text:?}"))
}

/// `cali-reg-VERSION-x86_64-linux.tar.gz`: one folder of that name, holding the binary, LICENSE
/// and README.md; the same bytes for the same inputs (sorted, no times, no owners).
fn tarball(root: &Path, binary: &Path, version: &str, out: &Path) -> anyhow::Result<PathBuf> {
    let stem = format!("cali-reg-{version}-x86_64-linux");
    let staging = out.join(&stem);
    std::fs::create_dir_all(&staging)?;
    for (from, to) in [
        (binary.to_path_buf(), "cali-reg"),
        (root.join("LICENSE"), "LICENSE"),
        (root.join("README.md"), "README.md"),
    ] {
        std::fs::copy(&from, staging.join(to))
            .with_context(|| format!("cannot copy {}", from.display()))?;
    }
    let tarball = out.join(format!("{stem}.tar.gz"));
    println!("dist       {}", name(&tarball));
    venv::run(
        Command::new("tar")
            .args([
                "--sort=name",
                "--mtime=@0",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                "-cf",
            ])
            .arg(out.join(format!("{stem}.tar")))
            .arg(&stem)
            .current_dir(out),
    )
    .context("tar failed")?;
    venv::run(
        Command::new("gzip")
            .args(["-n", "-9", "-f"])
            .arg(out.join(format!("{stem}.tar"))),
    )
    .context("gzip failed")?;
    std::fs::remove_dir_all(&staging)?;
    Ok(tarball)
}

/// The abi3 manylinux2014 wheel, built by maturin with zig as the linker.
fn wheel(root: &Path, out: &Path) -> anyhow::Result<PathBuf> {
    let python = venv::ensure(root, "venv-dist", "dist.txt")?;
    let wheels = out.join("wheels");
    println!(
        "dist       maturin build --release --compatibility manylinux2014 --zig (crates/python)"
    );
    venv::run(
        Command::new(&python)
            .args(["-m", "maturin", "build", "--release", "--quiet"])
            .args([
                "--compatibility",
                "manylinux2014",
                "--zig",
                "--manifest-path",
            ])
            .arg(root.join("crates/python/Cargo.toml"))
            .arg("--out")
            .arg(&wheels)
            .env("PATH", venv::path_with(&python)),
    )
    .context("maturin build failed")?;
    let built: Vec<PathBuf> = std::fs::read_dir(&wheels)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    let [wheel] = built.as_slice() else {
        bail!("maturin wrote {} wheels, not one: {built:?}", built.len());
    };
    if !name(wheel).contains("-abi3-") || !name(wheel).contains("manylinux2014") {
        bail!("{} is not an abi3 manylinux2014 wheel", name(wheel));
    }
    let moved = out.join(name(wheel));
    std::fs::rename(wheel, &moved)?;
    std::fs::remove_dir_all(&wheels)?;
    Ok(moved)
}

/// The pipeline's image (its stages are skipped when current), tagged with the version and
/// saved.
fn image(version: &str, out: &Path) -> anyhow::Result<PathBuf> {
    println!("dist       the image: cargo xtask pipeline --require-container, then docker save");
    pipeline::run(&pipeline::Options {
        require_container: true,
        ..pipeline::Options::default()
    })?;
    let tag = format!("cali-reg:{version}");
    venv::run(container::docker().args(["tag", container::IMAGE, &tag]))?;
    let file = out.join(format!("cali-reg-{version}-image.tar"));
    venv::run(
        container::docker()
            .args(["save", "--output"])
            .arg(&file)
            .arg(&tag),
    )
    .context("docker save failed")?;
    Ok(file)
}

/// Unpack the tarball into an empty folder and run its binary there with nothing in its
/// environment but the data set: statically linked, it trains and prints the original's sample
/// line. The model file it wrote.
fn check_tarball(tarball: &Path, scratch: &Path) -> anyhow::Result<PathBuf> {
    println!("check      the tarball's binary, from an empty folder");
    let unpacked = scratch.join("unpacked");
    std::fs::create_dir_all(&unpacked)?;
    venv::run(
        Command::new("tar")
            .arg("-xzf")
            .arg(tarball)
            .arg("-C")
            .arg(&unpacked),
    )?;
    let folder = unpacked.join(name(tarball).trim_end_matches(".tar.gz"));
    for file in ["cali-reg", "LICENSE", "README.md"] {
        if !folder.join(file).is_file() {
            bail!("{} holds no {file}", name(tarball));
        }
    }
    let binary = folder.join("cali-reg");
    let ldd = Command::new("ldd")
        .arg(&binary)
        .output()
        .context("cannot run ldd")?;
    let said = String::from_utf8_lossy(&ldd.stdout) + String::from_utf8_lossy(&ldd.stderr);
    if !said.contains("not a dynamic executable") && !said.contains("statically linked") {
        bail!(
            "the tarball's binary is linked dynamically: {}",
            said.trim()
        );
    }
    let work = scratch.join("empty");
    std::fs::create_dir_all(&work)?;
    let run = |args: &[&str]| -> anyhow::Result<String> {
        let mut command = Command::new(&binary);
        command.args(args).current_dir(&work).env_clear();
        for key in [dataset::DATA_ENV, "HOME", "XDG_CACHE_HOME"] {
            if let Some(value) = std::env::var_os(key) {
                command.env(key, value);
            }
        }
        let out = command
            .output()
            .context("cannot run the tarball's binary")?;
        if !out.status.success() {
            bail!(
                "`cali-reg {}` from the tarball failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    run(&["train"])?;
    let line = run(&["predict"])?;
    if line.trim() != SAMPLE_LINE {
        bail!(
            "the tarball's binary printed {:?}, not {SAMPLE_LINE:?}",
            line.trim()
        );
    }
    println!("  {}", line.trim());
    Ok(work.join("artifacts/linear_model.msgpack"))
}

/// Install the wheel into a fresh venv and use it with no Rust on `PATH`: a fit, and the model
/// file the tarball's binary wrote, loaded.
fn check_wheel(wheel: &Path, scratch: &Path, model: &Path) -> anyhow::Result<()> {
    println!("check      the wheel, in a fresh venv without Rust on PATH");
    let env = scratch.join("venv");
    venv::run(Command::new("python3").args(["-m", "venv"]).arg(&env))
        .context("cannot create a venv (is python3-venv installed?)")?;
    let bin = env.join("bin");
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    let rust = Command::new("sh")
        .args(["-c", "command -v cargo || command -v rustc"])
        .env("PATH", &path)
        .output()?;
    if rust.status.success() {
        bail!(
            "the check's PATH still finds Rust: {}",
            String::from_utf8_lossy(&rust.stdout).trim()
        );
    }
    let python = bin.join("python");
    venv::run(
        venv::pip_install(&python)
            .args(["--only-binary", ":all:"])
            .arg(wheel)
            .env("PATH", &path),
    )
    .context("the wheel does not install")?;
    let script = "\
import sys, cali_reg
m = cali_reg.LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
assert abs(m.coef_[0] - 2) < 1e-12 and abs(m.intercept_ - 1) < 1e-12, (m.coef_, m.intercept_)
loaded = cali_reg.load(sys.argv[1])
assert len(loaded.coef_) == 8, loaded.coef_
print('  import cali_reg: a fit, and', sys.argv[1].rsplit('/', 1)[-1], 'loaded')
";
    venv::run(
        Command::new(&python)
            .args(["-c", script])
            .arg(model)
            .env("PATH", &path)
            .current_dir(scratch),
    )
    .context("the installed wheel does not work")
}

/// Load the saved image back under its tag and run it: the quantised model's sample line.
fn check_image(image: &Path, version: &str) -> anyhow::Result<()> {
    println!("check      docker load, then docker run");
    let tag = format!("cali-reg:{version}");
    venv::run(
        container::docker()
            .args(["image", "rm", &tag])
            .stdout(std::process::Stdio::null()),
    )?;
    venv::run(
        container::docker()
            .args(["load", "--quiet", "--input"])
            .arg(image),
    )?;
    let out = container::docker()
        .args(["run", "--rm", "--network", "none", "--read-only", &tag])
        .output()
        .context("cannot run docker run")?;
    let line = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || line.trim() != QUANTIZED_LINE {
        bail!(
            "the loaded image printed {:?} ({}): {}",
            line.trim(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    println!("  {}", line.trim());
    Ok(())
}
