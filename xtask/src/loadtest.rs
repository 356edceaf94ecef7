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

/// One phase: `requests` POSTs of `rows` rows each, `CONCURRENCY` connections.
fn phase(addr: &str, requests: usize, rows: usize) -> anyhow::Result<()> {
    let row = "[8.3252, 41.0, 6.98, 1.02, 322.0, 2.55, 37.88, -122.23]";
    let body = format!("{{\"instances\": [{}]}}", vec![row; rows].join(","));
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let results: Vec<anyhow::Result<(Vec<f64>, usize)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CONCURRENCY)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<(Vec<f64>, usize)> {
                    let mut conn = Connection::open(addr)?;
                    let (mut latencies, mut errors) = (Vec::new(), 0);
                    while next.fetch_add(1, Ordering::Relaxed) < requests
                        && started.elapsed() < TIME_LIMIT
                    {
                        let t = Instant::now();
                        match conn.request(
                            "POST",
                            "/invocations",
                            "application/json",
                            body.as_bytes(),
                        ) {
                            Ok((200, _)) => latencies.push(t.elapsed().as_secs_f64() * 1e3),
                            _ => errors += 1,
                        }
                    }
                    Ok((latencies, errors))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("client thread panicked")))
            })
            .collect()
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

pub fn loadtest() -> anyhow::Result<()> {
    let root = project_root();
    let model = root.join("artifacts/quant_model.msgpack");
    if !model.exists() {
        bail!(
            "{} is missing: run `cargo xtask pipeline` first",
            model.display()
        );
    }
    let bin = crate::pipeline::build_binary(&root)?;
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
    let result = phase(&addr, 20_000, 1).and_then(|()| phase(&addr, 2_000, 1_000));
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
