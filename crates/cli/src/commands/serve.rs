//! `cali-reg serve`: the `serve` library's routes on a socket, with the process's concerns:
//! the allocator's tunables, the runtime, signals (SIGTERM and SIGINT stop, SIGHUP reloads)
//! and the log on standard error.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use serve::{App, ModelSource, connections};

use crate::args::{Common, ServeArgs};
use crate::output;

/// glibc's allocator, left to itself, raises its mmap threshold after each large free and keeps
/// the memory of decoded requests in its arenas: a server that answered a few 10 MiB bodies stayed
/// near 1 GB while idle. A fixed mmap threshold (blocks from 1 MiB are mapped on their own, and
/// unmapped when freed) and a trim threshold (an arena keeps at most 4 MiB free at its top) hand
/// that memory back as soon as a request is done. Lower thresholds (128 KiB each) mapped and
/// unmapped the buffers of every 1,000-row request, and the page faults and TLB flushes that
/// cost took a quarter of the server's time. Tunables are read when a process starts, so
/// `serve` starts itself again once with them, unless the user set malloc tunables.
const TUNABLES: &str = "glibc.malloc.mmap_threshold=1048576:glibc.malloc.trim_threshold=4194304";

fn reexec_with_tunables() {
    use std::os::unix::process::CommandExt;

    let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if current.contains("glibc.malloc.") {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let tunables = if current.is_empty() {
        TUNABLES.to_owned()
    } else {
        format!("{current}:{TUNABLES}")
    };
    // `exec` returns only if it failed; then the server runs with the allocator as it is.
    let _ = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", tunables)
        .exec();
}

pub fn run(common: &Common, args: &ServeArgs) -> anyhow::Result<()> {
    reexec_with_tunables();
    let source = match &args.model {
        Some(path) => ModelSource::File(path.clone()),
        None => ModelSource::Artifacts(common.artifacts.clone(), common.which()),
    };
    let options = serve::Options {
        max_body: args.max_body,
        body_timeout: seconds(args.body_timeout),
        log: (!common.quiet).then_some(output::stderr as fn(std::fmt::Arguments<'_>)),
        drift_minutes: args.drift_window,
    };
    let app = App::new(source, options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
        let addr: SocketAddr = listener.local_addr()?;
        // Taken over before the server says it listens: a SIGHUP from then on reloads, never
        // ends the process (the signal's default).
        let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("cannot handle SIGHUP")?;
        output::stderr(format_args!(
            "listening on http://{addr} ({} model {})",
            app.current().kind(),
            app.source().path().display()
        ));
        tokio::spawn(reload_on_hangup(app.clone(), hangups));
        let limits = connections::Limits {
            header_timeout: seconds(args.header_timeout),
            max_connections: connections::connection_cap(args.max_connections),
            grace: seconds(args.grace),
        };
        let left = connections::serve(listener, serve::router(app), limits, shutdown()).await;
        if left > 0 {
            output::stderr(format_args!(
                "grace period of {:.1} s over: dropping {left} connection(s) still open",
                limits.grace.as_secs_f64()
            ));
        }
        Ok::<(), anyhow::Error>(())
    })?;
    output::stderr(format_args!("stopped"));
    Ok(())
}

/// On each `SIGHUP`, read the model again; a bad file is refused, saying why, and the model
/// served stays.
async fn reload_on_hangup(app: Arc<App>, mut hangups: tokio::signal::unix::Signal) {
    let model = app.source().path().display().to_string();
    while hangups.recv().await.is_some() {
        match app.reload() {
            Ok(new) => output::stderr(format_args!(
                "reloaded {model} ({} model, SHA-256 {})",
                new.kind, new.sha256
            )),
            Err(e) => output::stderr(format_args!(
                "kept the model served: reloading {model} failed: {:#}",
                anyhow::Error::new(e)
            )),
        }
    }
}

/// A duration from a number of seconds given on the command line (negative or not a number: 0).
fn seconds(s: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(s).unwrap_or_default()
}

/// SIGTERM (as `docker stop` sends) or SIGINT: stop taking connections, finish the requests in flight.
async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
