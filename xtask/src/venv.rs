//! Python virtual environments under `target/`, each from a requirements file in
//! `xtask/python/`: created once, and installed again only when the file changes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The Python of the venv `target/<name>`, holding what `xtask/python/<requirements>` lists.
pub fn ensure(root: &Path, name: &str, requirements: &str) -> anyhow::Result<PathBuf> {
    let venv = root.join("target").join(name);
    let python = venv.join("bin/python");
    let file = root.join("xtask/python").join(requirements);
    let wanted = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let stamp = venv.join(".requirements.sha256");
    let digest = dataset::sha256_hex(&wanted);
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == digest) && python.exists() {
        return Ok(python);
    }
    println!("setting up {} from {}", venv.display(), file.display());
    if !python.exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            .context("cannot create a Python venv (is python3-venv installed?)")?;
    }
    run(pip_install(&python).arg("-r").arg(&file))
        .with_context(|| format!("cannot install {}", file.display()))?;
    crate::write_atomically(&stamp, digest.as_bytes())?;
    Ok(python)
}

/// The PATH with the venv of `python` first: tools it installed (maturin, uvicorn) are found
/// by name, as when the venv is activated.
pub fn path_with(python: &Path) -> String {
    let bin = python.parent().unwrap_or(Path::new("."));
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// `python -m pip install`, quietly: add what to install.
pub fn pip_install(python: &Path) -> Command {
    let mut command = Command::new(python);
    command.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]);
    command
}

/// Run a command to its end; an error unless it succeeded.
pub fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command.status()?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
