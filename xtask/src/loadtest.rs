//! `cargo xtask loadtest`: the scoring server on loopback under a bounded load.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::http::Connection;
use crate::project_root;

const CONCURRENCY: usize = 32;
/// Every phase stops after this long, whatever it has sent.
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// Run `work` on `n` threads at once and gather what each returns.
fn on_threads<T: Send>(
    n: usize,
    work: impl Fn() -> anyhow::Result<T> + Sync,
) -> Vec<anyhow::Result<T>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n).map(|_| s.spawn(&work)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("client thread panicked")))
            })
            .collect()
    })
}

/// One phase: `requests` POSTs of `rows` rows each, `CONCURRENCY` connections.
fn phase(addr: &str, requests: usize, rows: usize) -> anyhow::Result<()> {
    let row = "[8.3252, 41.0, 6.98, 1.02, 322.0, 2.55, 37.88, -122.23]";
    let body = format!("{{\"instances\": [{}]}}", vec![row; rows].join(","));
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let results = on_threads(CONCURRENCY, || -> anyhow::Result<(Vec<f64>, usize)> {
        let mut conn = Connection::open(addr)?;
        let (mut latencies, mut errors) = (Vec::new(), 0);
        while next.fetch_add(1, Ordering::Relaxed) < requests && started.elapsed() < TIME_LIMIT {
            let t = Instant::now();
            match conn.request("POST", "/invocations", "application/json", body.as_bytes()) {
                Ok((200, _)) => latencies.push(t.elapsed().as_secs_f64() * 1e3),
                _ => errors += 1,
            }
        }
        Ok((latencies, errors))
    });
    let elapsed = started.elapsed().as_secs_f64();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for r in results {
        let (l, e) = r?;
        latencies.extend(l);
        errors += e;
    }
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "| {rows} | {} | {CONCURRENCY} | {:.0} | {:.2} | {:.2} | {errors} |",
        latencies.len() + errors,
        latencies.len() as f64 / elapsed,
        pick(0.5),
        pick(0.99)
    );
    Ok(())
}

/// A field of `/proc/PID/status`, in MiB.
fn status_mib(pid: u32, key: &str) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.trim().trim_end_matches(" kB").trim().parse().ok())
        .with_context(|| format!("no {key} in /proc/{pid}/status"))?;
    Ok(kib / 1024)
}

/// Memory: 16 bodies of 10 MiB at once (about 580,000 rows each), then 5 s of idling.
fn memory(addr: &str, pid: u32) -> anyhow::Result<()> {
    let row = "[1,1,1,1,1,1,1,1]";
    let rows = ((10 << 20) - 20) / (row.len() + 1);
    let body = format!("{{\"instances\": [{}]}}", vec![row; rows].join(","));
    let statuses = on_threads(16, || {
        let mut conn = Connection::open(addr)?;
        conn.request("POST", "/invocations", "application/json", body.as_bytes())
            .map(|(status, _)| status)
    });
    let ok = statuses
        .into_iter()
        .filter(|s| matches!(s, Ok(200)))
        .count();
    let peak = status_mib(pid, "VmHWM:")?;
    std::thread::sleep(Duration::from_secs(5));
    let idle = status_mib(pid, "VmRSS:")?;
    println!(
        "16 concurrent bodies of {:.1} MiB: {ok} answered 200, peak RSS {peak} MiB, RSS after 5 s idle {idle} MiB",
        body.len() as f64 / f64::from(1 << 20)
    );
    Ok(())
}

pub fn loadtest() -> anyhow::Result<()> {
    let root = project_root();
    let model = root.join("artifacts/quant_model.msgpack");
    if !model.exists() {
        bail!(
            "{} is missing: run `cargo xtask pipeline` first",
            model.display()
        );
    }
    let bin = crate::pipeline::build_binary(&root, crate::pipeline::Build::Full)?;
    let mut server = Command::new(bin)
        .args(["serve", "--quiet", "--port", "0", "--model"])
        .arg(&model)
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start the server")?;
    let mut first = String::new();
    BufReader::new(server.stderr.as_mut().context("no stderr")?).read_line(&mut first)?;
    let addr = first
        .strip_prefix("listening on http://")
        .and_then(|r| r.split_whitespace().next())
        .with_context(|| format!("unexpected server output {first:?}"))?
        .to_owned();
    println!("server on {addr}, {CONCURRENCY} keep-alive connections, a client thread each");
    println!(
        "| rows per request | requests | concurrency | requests/s | p50 ms | p99 ms | errors |"
    );
    println!("|--:|--:|--:|--:|--:|--:|--:|");
    let result = phase(&addr, 20_000, 1)
        .and_then(|()| phase(&addr, 2_000, 1_000))
        .and_then(|()| memory(&addr, server.id()));
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let code = server.wait()?.code();
    result?;
    if code != Some(0) {
        bail!("the server exited with {code:?} after SIGTERM");
    }
    println!("server stopped cleanly on SIGTERM");
    Ok(())
}
