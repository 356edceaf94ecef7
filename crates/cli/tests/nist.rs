//! NIST's reference problems through the command line: each written as a CSV (its model's
//! columns, shortest round-trip decimals), then fitted on every row three ways: `train`,
//! `train --streaming`, and `stats` then `train --from-stats`. Each must reach the digits
//! `linreg`'s own test holds it to, and so must `summary`'s standard deviations.

use serde_json::Value;

use crate::nist_data::{BARS, Nist, SD_BARS, load, lre};
use crate::support::Run;

/// The data set as a CSV with a header `x1,…,xk,y`.
fn csv(set: &Nist) -> String {
    let p = set.x[0].len();
    let mut text: String = (1..=p).map(|k| format!("x{k},")).collect();
    text.push_str("y\n");
    for (row, y) in set.x.iter().zip(&set.y) {
        for v in row {
            text.push_str(&format!("{v:?},"));
        }
        text.push_str(&format!("{y:?}\n"));
    }
    text
}

fn digits(set: &Nist, fit: &Value) -> f64 {
    let coefficients: Vec<f64> = fit["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    set.digits(fit["intercept"].as_f64().unwrap(), &coefficients)
}

#[test]
fn every_certified_problem_from_every_command_line_path() {
    let run = Run::new();
    let mut failures = Vec::new();
    for (name, bar) in BARS {
        failures.extend(fit_three_ways(&run, name, bar));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The shortfalls of one data set's three fits.
fn fit_three_ways(run: &Run, name: &str, bar: f64) -> Vec<String> {
    let set = load(name);
    let file = run.dir.path().join(format!("{name}.csv"));
    std::fs::write(&file, csv(&set)).unwrap();
    let stats = run.dir.path().join(format!("{name}.stats"));
    let (f, s) = (file.to_str().unwrap(), stats.to_str().unwrap());
    let mut common = vec!["--data", f, "--target", "y", "--test-size", "0"];
    if !set.intercept {
        common.push("--no-intercept");
    }
    run.ok(&[&["stats", "-o", s][..], &common].concat());
    let streaming = ["train", "--streaming", "--split", "hash"];
    let mut failures = Vec::new();
    for (path, args) in [
        ("train", [&["train"][..], &common].concat()),
        ("train --streaming", [&streaming[..], &common].concat()),
        ("stats, --from-stats", vec!["train", "--from-stats", s]),
    ] {
        let fit = run.json(&args);
        let got = digits(&set, &fit);
        if got < bar {
            failures.push(format!("{name} by {path}: {got:.1} digits < {bar}"));
        }
        if let Some((sd, r2)) = fit_digits(&set, &fit).filter(|&(sd, r2)| sd < 12.0 || r2 < 12.0) {
            failures.push(format!(
                "{name} by {path}: residual SD {sd:.1}, R² {r2:.1} digits"
            ));
        }
        failures.extend(summary_shortfall(run, &set, name, path));
    }
    failures
}

/// `cali-reg summary`'s standard deviations of the estimates and residual SD against NIST's
/// certified values, held to `linreg`'s bars.
fn summary_shortfall(run: &Run, set: &Nist, name: &str, path: &str) -> Option<String> {
    let (_, sd_bar, resid_bar) = SD_BARS.iter().find(|(n, ..)| *n == name)?;
    let summary = run.json(&["summary"]);
    let sd = summary["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&set.certified_sd)
        .map(|(e, &c)| lre(e["std_err"].as_f64().unwrap(), c))
        .fold(15.0, f64::min);
    let resid = lre(summary["resid_std"].as_f64().unwrap(), set.residual_sd);
    (sd < *sd_bar || resid < *resid_bar).then(|| {
        format!("{name} by {path}: summary's standard deviations {sd:.2}, residual SD {resid:.2} digits < {sd_bar}, {resid_bar}")
    })
}

/// Correct digits of the in-sample residual standard deviation (NIST's divides by n − k; an
/// exact fit's counts against the size of the targets) and of R² (NIST's R² through the origin
/// is the uncentred one, which the tool does not print: then the SD's digits stand for both).
/// `None` for a fit from statistics files alone, which prints no metrics.
fn fit_digits(set: &Nist, fit: &Value) -> Option<(f64, f64)> {
    let (rmse, r2) = (fit["rmse"].as_f64()?, fit["r2"].as_f64()?);
    let n = set.y.len() as f64;
    let sd = rmse * (n / (n - set.certified.len() as f64)).sqrt();
    let rms_y = (set.y.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
    let sd_digits = if set.residual_sd == 0.0 {
        lre(sd / rms_y, 0.0)
    } else {
        lre(sd, set.residual_sd)
    };
    let r2_digits = if set.intercept {
        lre(r2, set.r2)
    } else {
        sd_digits
    };
    Some((sd_digits, r2_digits))
}
