//! `cargo xtask conformance`: `cali-reg serve` against a real MLflow scoring server.
//!
//! MLflow (with scikit-learn and pandas) goes into `target/venv-conformance`. A scikit-learn
//! model of the seed split is saved as MLflow saves models, and served by
//! `mlflow models serve --env-manager local`; `cali-reg serve` serves our model of the same
//! split; both on loopback. `xtask/python/conformance.py` sends both the same battery and fails
//! on any difference its table of documented ones (docs/SERVING.md's) does not name. Then
//! `cali-reg export --format mlflow --raw` writes an MLflow model folder, which
//! `mlflow.pyfunc.load_model` and `mlflow models serve` must predict as `cali-reg predict` does.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

use crate::{pipeline, project_root, venv};

/// A server process, stopped with its whole process group (MLflow's command starts uvicorn
/// as a child of its own) when dropped.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn spawn(command: &mut Command, log: &Path) -> anyhow::Result<Served> {
    use std::os::unix::process::CommandExt;

    let out = std::fs::File::create(log)?;
    let child = command
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    Ok(Served(child))
}

pub fn conformance() -> anyhow::Result<()> {
    let root = project_root();
    let python = venv::ensure(&root, "venv-conformance", "conformance.txt")?;
    let bin = pipeline::build_binary(&root, pipeline::Build::Full)?;
    let work = root.join("target/conformance");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let located = pipeline::locate(&bin, None)?;
    let data = PathBuf::from(
        located["path"]
            .as_str()
            .context("cali-reg locate gave no path")?,
    );
    let artifacts = work.join("artifacts");
    let trained = Command::new(&bin)
        .args(["train", "--quiet", "--artifacts"])
        .arg(&artifacts)
        .arg("--data")
        .arg(&data)
        .stdout(Stdio::null())
        .status()?;
    if !trained.success() {
        bail!("cali-reg train failed ({trained})");
    }
    let script = root.join("xtask/python/conformance.py");
    let model = work.join("mlflow-model");
    let saved = Command::new(&python)
        .arg(&script)
        .args(["save"])
        .arg(&data)
        .arg(&model)
        .status()?;
    if !saved.success() {
        bail!("saving the MLflow model failed ({saved})");
    }
    let (theirs, ours) = (crate::http::free_port()?, crate::http::free_port()?);
    // MLflow runs `uvicorn` by name: the venv's bin first on the PATH.
    let path = venv::path_with(&python);
    let _mlflow = spawn(
        Command::new(&python)
            .args(["-m", "mlflow", "models", "serve", "--env-manager", "local"])
            .args(["-h", "127.0.0.1", "-p", &theirs.to_string(), "-m"])
            .arg(&model)
            .env("PATH", path),
        &work.join("mlflow.log"),
    )?;
    let _cali_reg = spawn(
        Command::new(&bin)
            .args([
                "serve",
                "--quiet",
                "--host",
                "127.0.0.1",
                "--port",
                &ours.to_string(),
            ])
            .arg("--artifacts")
            .arg(&artifacts),
        &work.join("cali-reg.log"),
    )?;
    crate::http::ready(&format!("127.0.0.1:{theirs}"), 120, "MLflow's server")
        .with_context(|| format!("see {}", work.join("mlflow.log").display()))?;
    crate::http::ready(&format!("127.0.0.1:{ours}"), 30, "cali-reg serve")?;
    println!("MLflow on 127.0.0.1:{theirs}, cali-reg on 127.0.0.1:{ours}");
    let compared = Command::new(&python)
        .arg(&script)
        .arg("compare")
        .arg(format!("http://127.0.0.1:{theirs}"))
        .arg(format!("http://127.0.0.1:{ours}"))
        .arg(&data)
        .status()?;
    if !compared.success() {
        bail!("the servers differ beyond the documented differences (above)");
    }
    exported(&python, &bin, &work, &artifacts, &data)
}

/// `cali-reg export --format mlflow --raw`'s folder, loaded by `mlflow.pyfunc.load_model` and
/// served by `mlflow models serve`, predicts what `cali-reg predict` does.
fn exported(
    python: &Path,
    bin: &Path,
    work: &Path,
    artifacts: &Path,
    data: &Path,
) -> anyhow::Result<()> {
    let folder = work.join("exported-mlflow-model");
    let ours = work.join("predictions.csv");
    for args in [
        vec![
            "export",
            "--format",
            "mlflow",
            "--raw",
            "-o",
            path_str(&folder)?,
        ],
        vec![
            "predict",
            "--input",
            path_str(data)?,
            "-o",
            path_str(&ours)?,
        ],
    ] {
        let status = Command::new(bin)
            .args(&args)
            .arg("--artifacts")
            .arg(artifacts)
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("cali-reg {} failed ({status})", args.join(" "));
        }
    }
    let port = crate::http::free_port()?;
    let _served = spawn(
        Command::new(python)
            .args(["-m", "mlflow", "models", "serve", "--env-manager", "local"])
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-m"])
            .arg(&folder)
            .env("PATH", venv::path_with(python)),
        &work.join("mlflow-exported.log"),
    )?;
    crate::http::ready(
        &format!("127.0.0.1:{port}"),
        120,
        "MLflow's server of our folder",
    )
    .with_context(|| format!("see {}", work.join("mlflow-exported.log").display()))?;
    let checked = Command::new(python)
        .arg(project_root().join("xtask/python/conformance.py"))
        .arg("exported")
        .arg(&folder)
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(data)
        .arg(&ours)
        .status()?;
    if !checked.success() {
        bail!("MLflow does not predict what cali-reg does from the exported folder (above)");
    }
    Ok(())
}

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str()
        .with_context(|| format!("{} is not UTF-8", path.display()))
}
