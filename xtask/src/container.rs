//! The container stage: a static inference-only binary, a `FROM scratch` image, a smoke run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::runner::{Runner, image_section, update_run_record};
use crate::stages::{Inputs, Stages, file_sha256};
use crate::{cargo, write_atomically};

/// The image's name.
pub const IMAGE: &str = "cali-reg:latest";
const TARGET: &str = "x86_64-unknown-linux-gnu";
const RECORD: &str = "image.json";

pub fn docker() -> Command {
    let mut c = Command::new("docker");
    c.env("DOCKER_BUILDKIT", "0");
    c
}

/// `Ok` when a Docker engine answers, else why not.
pub fn engine() -> Result<(), String> {
    match docker()
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .next()
            .unwrap_or("docker info failed")
            .to_owned()),
        Err(e) => Err(format!("cannot run docker: {e}")),
    }
}

/// Build the inference-only binary, statically linked, with the size-tuned `image` profile.
fn build_static(root: &Path) -> anyhow::Result<PathBuf> {
    println!(
        "container  cargo build --profile image -p cli --no-default-features --features serve --target {TARGET} (static)"
    );
    let status = cargo()
        .current_dir(root)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .args([
            "build",
            "--quiet",
            "--profile",
            "image",
            "--package",
            "cli",
            "--no-default-features",
            "--features",
            "serve",
            "--target",
            TARGET,
        ])
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("static build failed ({status})");
    }
    Ok(root.join("target").join(TARGET).join("image/cali-reg"))
}

/// The ID of the image as the engine has it now, if any.
fn image_id() -> Option<String> {
    let out = docker()
        .args(["image", "inspect", "--format", "{{.Id}}", IMAGE])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The recorded image (id and size) as a fingerprint for the report stage.
pub fn recorded_image(ctx: &Runner) -> Option<String> {
    file_sha256(&ctx.artifact(RECORD)).ok().flatten()
}

pub fn stage(root: &Path, ctx: &Runner, stages: &mut Stages, require: bool) -> anyhow::Result<()> {
    if let Err(why) = engine() {
        if require {
            bail!(
                "no Docker engine answers ({why}); the container stage is required here (CI=true or --require-container)"
            );
        }
        println!(
            "container  skipped: no Docker engine answers ({why}); pass --no-container to silence this"
        );
        return Ok(());
    }
    let binary = build_static(root)?;
    let dockerfile = root.join("docker/Dockerfile");
    let hash = |p: &Path| -> anyhow::Result<String> { Ok(file_sha256(p)?.unwrap_or_default()) };
    let inputs: Inputs = [
        ("static_binary", hash(&binary)?),
        ("quant_model", hash(&ctx.artifact("quant_model.msgpack"))?),
        ("float_model", hash(&ctx.artifact("linear_model.msgpack"))?),
        ("samples", hash(&ctx.artifact("samples.csv"))?),
        ("dockerfile", hash(&dockerfile)?),
    ]
    .into_iter()
    .collect();
    // Skipping is only right while the engine still holds the image the record names.
    let recorded_id = std::fs::read(ctx.artifact(RECORD))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["id"].as_str().map(str::to_owned));
    let image_present = recorded_id.is_some() && recorded_id == image_id();
    stages.run_unless_fresh(
        "container",
        &inputs,
        &[ctx.artifact(RECORD)],
        image_present,
        || build_and_smoke(ctx, &binary, &dockerfile),
    )?;
    Ok(())
}

/// Build the image, check its sample line and its server against the host's, and record it.
fn build_and_smoke(ctx: &Runner, binary: &Path, dockerfile: &Path) -> anyhow::Result<()> {
    build_image(ctx, binary, dockerfile)?;
    let line = sample_line_matches_host(ctx)?;
    smoke_serve(ctx)?;
    record_image(ctx, &line)
}

/// `docker build` from a context holding exactly what the image needs, nothing else.
fn build_image(ctx: &Runner, binary: &Path, dockerfile: &Path) -> anyhow::Result<()> {
    let context = ctx.artifact("image-context");
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(&context).context("cannot create the image build context")?;
    for (from, name) in [
        (binary.to_path_buf(), "cali-reg"),
        (ctx.artifact("quant_model.msgpack"), "quant_model.msgpack"),
        // The quantised model's prediction intervals reuse its float model's covariance.
        (ctx.artifact("linear_model.msgpack"), "linear_model.msgpack"),
        (ctx.artifact("samples.csv"), "samples.csv"),
    ] {
        std::fs::copy(&from, context.join(name))
            .with_context(|| format!("cannot copy {}", from.display()))?;
    }
    let status = docker()
        .args(["build", "--quiet", "--tag", IMAGE, "--file"])
        .arg(dockerfile)
        .arg(&context)
        .status()
        .context("cannot run docker build")?;
    if !status.success() {
        bail!("docker build failed ({status})");
    }
    Ok(())
}

/// Run the image (no network, read-only): its one line must be the host's sample line.
fn sample_line_matches_host(ctx: &Runner) -> anyhow::Result<String> {
    let out = docker()
        .args(["run", "--rm", "--network", "none", "--read-only", IMAGE])
        .output()
        .context("cannot run docker run")?;
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "the image exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let host = std::fs::read_to_string(ctx.artifact("sample_predictions.txt"))
        .context("no host sample line")?;
    if line != host {
        bail!(
            "the image printed {:?}, the host {:?}",
            line.trim(),
            host.trim()
        );
    }
    println!("  image:  {}", line.trim());
    println!("  host:   {}", host.trim());
    Ok(line)
}

/// The image's size, id and user, written to the image record and to `run.json`.
fn record_image(ctx: &Runner, line: &str) -> anyhow::Result<()> {
    let size = docker()
        .args([
            "image",
            "inspect",
            "--format",
            "{{.Size}} {{.Id}} {{.Config.User}}",
            IMAGE,
        ])
        .output()
        .context("cannot run docker image inspect")?;
    let text = String::from_utf8_lossy(&size.stdout).into_owned();
    let mut parts = text.split_whitespace();
    let bytes: u64 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .context("docker image inspect gave no size")?;
    let id = parts.next().unwrap_or_default().to_owned();
    let user = parts.next().unwrap_or_default().to_owned();
    println!("  {IMAGE}: {bytes} bytes, user {user}");
    let record = image_section(IMAGE, &id, bytes, &user, line.trim());
    write_atomically(
        &ctx.artifact(RECORD),
        (serde_json::to_string_pretty(&record)? + "\n").as_bytes(),
    )?;
    update_run_record(ctx, "image", record)
}

/// The sample rows through the served image equal the host binary's predictions of them.
fn check_served(ctx: &Runner, addr: &str) -> anyhow::Result<()> {
    let mut conn = crate::http::ready(addr, 15, "the served image")?;
    let samples = std::fs::read(ctx.artifact("samples.csv"))?;
    let (status, body) = conn.request("POST", "/invocations", "text/csv", &samples)?;
    if status != 200 {
        bail!("/invocations answered {status}: {body}");
    }
    let served: serde_json::Value = serde_json::from_str(&body)?;
    let samples_path = ctx.artifact("samples.csv").display().to_string();
    let host = Command::new(&ctx.bin)
        .args(["predict", "--quantized", "--json", "--input", &samples_path])
        .args(&ctx.common)
        .output()?;
    let host: serde_json::Value =
        serde_json::from_slice(&host.stdout).context("host predictions")?;
    if served["predictions"] != host["predictions"] {
        bail!(
            "served {} but the host predicts {}",
            served["predictions"],
            host["predictions"]
        );
    }
    println!("  serve:  {} (same as the host)", served["predictions"]);
    check_served_intervals(ctx, conn, &samples_path)
}

/// The sample rows with MLflow's `params: {"interval": 0.95}` through the served image: the
/// same interval ends as the host's `predict --quantized --interval 0.95`.
fn check_served_intervals(
    ctx: &Runner,
    mut conn: crate::http::Connection,
    samples_path: &str,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(samples_path)?;
    let mut lines = text.lines();
    let columns: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let data: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(str::parse).collect::<Result<_, _>>())
        .collect::<Result<_, _>>()
        .context("samples.csv holds numbers")?;
    let body = serde_json::json!({
        "dataframe_split": {"columns": columns, "data": data},
        "params": {"interval": 0.95},
    });
    let (status, answer) = conn.request(
        "POST",
        "/invocations",
        "application/json",
        body.to_string().as_bytes(),
    )?;
    if status != 200 {
        bail!("/invocations with params answered {status}: {answer}");
    }
    let served: serde_json::Value = serde_json::from_str(&answer)?;
    let host = Command::new(&ctx.bin)
        .args(["predict", "--quantized", "--json", "--interval", "0.95"])
        .args(["--input", samples_path])
        .args(&ctx.common)
        .output()?;
    let host: serde_json::Value = serde_json::from_slice(&host.stdout).context("host intervals")?;
    for column in [
        "mean_ci_lower",
        "mean_ci_upper",
        "obs_ci_lower",
        "obs_ci_upper",
    ] {
        let ours: Vec<&serde_json::Value> = served["predictions"]
            .as_array()
            .context("records")?
            .iter()
            .map(|r| &r[column])
            .collect();
        let want: Vec<&serde_json::Value> = host["intervals"][column]
            .as_array()
            .context("host intervals")?
            .iter()
            .collect();
        if ours != want {
            bail!("served {column} {ours:?} but the host gives {want:?}");
        }
    }
    println!("  serve:  95% intervals with params (same as the host)");
    Ok(())
}

fn smoke_serve(ctx: &Runner) -> anyhow::Result<()> {
    let port = crate::http::free_port()?;
    let name = format!("cali-reg-smoke-{}", std::process::id());
    let out = docker()
        .args([
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            "host",
            "--read-only",
            IMAGE,
        ])
        .args([
            "serve",
            "--quantized",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .output()
        .context("cannot run docker run")?;
    if !out.status.success() {
        bail!(
            "docker run serve failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let result = check_served(ctx, &format!("127.0.0.1:{port}"));
    let stop = docker().args(["stop", "--time", "10", &name]).output();
    let code = docker()
        .args(["inspect", "--format", "{{.State.ExitCode}}", &name])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let _ = docker().args(["rm", "-f", &name]).output();
    result?;
    stop.context("cannot run docker stop")?;
    match code.as_deref() {
        Ok("0") => {
            println!("  serve:  stopped by docker stop, exit code 0");
            Ok(())
        }
        other => bail!("the served image exited with {other:?} on docker stop"),
    }
}
