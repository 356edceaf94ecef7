//! Text formatting shared by the commands; the work itself happens elsewhere.

use anyhow::Context;

/// Write one line to standard output, through the locked handle. A write that fails is an
/// error; a reader that went away (`… | head -1`) shows up as `BrokenPipe`, which `main`
/// turns into a quiet exit 0.
pub fn line(args: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    use std::io::Write;

    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
}

/// Write bytes as they are to standard output (a completion script, a manual page).
pub fn bytes(content: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;

    let mut out = std::io::stdout().lock();
    out.write_all(content)
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
}

/// Print a command's result: as one line of JSON with `--json`, else as its text.
pub fn result<T: serde::Serialize + std::fmt::Display>(
    value: &T,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        let text = serde_json::to_string(value)?;
        line(format_args!("{text}"))
    } else {
        line(format_args!("{value}"))
    }
}

/// Print a command's result with what it logged to MLflow (the `mlflow` key); when logging
/// failed, the result all the same, then the failure as the command's error.
#[cfg(feature = "train")]
pub fn tracked<T: serde::Serialize + std::fmt::Display>(
    value: &T,
    logged: Result<Option<pipeline::tracking::Logged>, pipeline::Error>,
    json: bool,
) -> anyhow::Result<()> {
    let (mlflow, failure) = match logged {
        Ok(mlflow) => (mlflow, None),
        Err(e) => (None, Some(e)),
    };
    let tracked = pipeline::tracking::Tracked {
        result: value,
        mlflow: mlflow.as_ref(),
    };
    result(&tracked, json)?;
    failure.map_or(Ok(()), |e| Err(e.into()))
}

/// Each warning on its own line of standard error.
pub fn warnings(warnings: &[String]) {
    for warning in warnings {
        stderr(format_args!("warning: {warning}"));
    }
}

/// One line on standard error: warnings, the server's log. A standard error that cannot be
/// written is no reason to fail (or, as `eprintln!` does, to panic), so the outcome is dropped.
pub fn stderr(args: std::fmt::Arguments<'_>) {
    use std::io::Write;

    let _ = writeln!(std::io::stderr().lock(), "{args}");
}
