//! `cali-reg drift` on a drifted copy of California (incomes scaled by 1.3, the house ages
//! shuffled among the rows), against NumPy and SciPy on the full data; thresholds and bad input.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Run, data_path, json_of, python_of, run_python};

/// California with `median_income` scaled by 1.3 and `housing_median_age` shuffled among the
/// rows (each row takes the age of the row half the table away: the same ages, new rows).
fn drifted_copy(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(data_path()).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    let n = rows.len();
    let mut out = format!("{header}\n");
    for (r, row) in rows.iter().enumerate() {
        let mut row = row.clone();
        let income: f64 = row[7].parse().unwrap();
        row[7] = format!("{:?}", income * 1.3);
        row[2] = rows[(r + n / 2) % n][2].clone();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    let path = dir.join("drifted.csv");
    std::fs::write(&path, out).unwrap();
    path
}

/// What the scripts below start with: `features(path)`, a CSV's features as `cali-reg`
/// derives them.
const FEATURES: &str = r#"
import pandas as pd

def features(path):
    d = pd.read_csv(path)
    return pd.DataFrame({"MedInc": d.median_income, "HouseAge": d.housing_median_age,
        "AveRooms": d.total_rooms / d.households, "AveBedrms": d.total_bedrooms / d.households,
        "Population": d.population, "AveOccup": d.population / d.households,
        "Latitude": d.latitude, "Longitude": d.longitude})
"#;

/// The training rows (scikit-learn's split, seed 42) and the drifted table, derived as
/// `cali-reg` derives them; for each feature the PSI over bins built the same way (NumPy's
/// quantiles rounded to float32, ties once, none at or below the minimum or above the
/// maximum), SciPy's KS and Wasserstein over the training SD, the mean shift and the share out
/// of range; for the predictions (of the model's coefficients, argv[3]) the same but the PSI.
const REFERENCE: &str = r#"
import json, sys
import numpy as np, pandas as pd
from scipy import stats
from sklearn.model_selection import train_test_split

train, _ = train_test_split(features(sys.argv[1]), test_size=0.2, random_state=42)
new = features(sys.argv[2])
coef, intercept = json.loads(sys.argv[3]), float(sys.argv[4])

def measures(r, q, psi=True):
    out = {"ks": float(stats.ks_2samp(r, q).statistic),
           "wasserstein": float(stats.wasserstein_distance(r, q) / np.std(r)),
           "mean_shift": float((q.mean() - r.mean()) / np.std(r)),
           "out_of_range": float(np.mean((q < r.min()) | (q > r.max())))}
    if psi:
        e = np.unique(np.quantile(r, np.arange(1, 32) / 32).astype(np.float32)).astype(float)
        e = e[(e > r.min()) & (e <= r.max())]
        share = lambda v: np.bincount(np.searchsorted(e, v, side="right"), minlength=len(e) + 1) / len(v)
        p, s = np.maximum(share(r), 1e-4), np.maximum(share(q), 1e-4)
        out["psi"] = float(np.sum((s - p) * np.log(s / p)))
    return out

result = {c: measures(train[c].to_numpy(), new[c].to_numpy()) for c in train.columns}
predict = lambda t: t.to_numpy() @ np.array(coef) + intercept
result["prediction"] = measures(predict(train), predict(new), psi=False)
print(json.dumps(result))
"#;

/// SciPy's full-data KS statistic (`want`'s) within our column's `[ks, ks_upper]`, and its
/// Wasserstein distance over the training SD within `wasserstein_bound` of ours; the latter
/// returned.
fn within_brackets(c: &Value, want: &Value) -> f64 {
    let f = |v: &Value, key: &str| v[key].as_f64().unwrap();
    let (name, ks, w) = (&c["name"], f(want, "ks"), f(want, "wasserstein"));
    assert!(
        f(c, "ks") <= ks + 1e-12 && ks <= f(c, "ks_upper") + 1e-12,
        "{name}: KS {ks}"
    );
    assert!(
        (f(c, "wasserstein") - w).abs() <= f(c, "wasserstein_bound") + 1e-12,
        "{name}: W/SD {w} against {}",
        f(c, "wasserstein")
    );
    w
}

#[test]
fn drift_flags_the_drifted_columns_and_equals_scipy_where_the_bins_decide() {
    let run = Run::new();
    let trained = run.json(&["train"]);
    let drifted = drifted_copy(run.dir.path());
    let report = run.json(&["drift", "--data", drifted.to_str().unwrap()]);
    assert_eq!(report["command"], "drift");
    assert_eq!(report["rows"], 20640);
    assert_eq!(report["training_rows"], 16512);
    let coefficients = trained["coefficients"].to_string();
    let intercept = trained["intercept"].to_string();
    let data = data_path();
    let expected: Value = serde_json::from_slice(&run_python(
        &format!("{FEATURES}{REFERENCE}"),
        &[
            data.to_str().unwrap(),
            drifted.to_str().unwrap(),
            &coefficients,
            &intercept,
        ],
    ))
    .unwrap();
    let mut columns: Vec<&Value> = report["features"].as_array().unwrap().iter().collect();
    columns.push(&report["prediction"]);
    for c in columns {
        let name = c["name"].as_str().unwrap();
        let want = &expected[name];
        let f = |v: &Value, key: &str| v[key].as_f64().unwrap();
        let close = |key: &str, tolerance: f64| {
            let (ours, theirs) = (f(c, key), f(want, key));
            assert!(
                (ours - theirs).abs() <= tolerance * theirs.abs().max(1.0),
                "{name} {key}: {ours} against {theirs}"
            );
        };
        close("mean_shift", 1e-9);
        close("out_of_range", 1e-12);
        if name != "prediction" {
            close("psi", 1e-12);
        }
        let w = within_brackets(c, want);
        // Incomes and the predictions drifted; the shuffled ages did not, as a column.
        let drifted = matches!(name, "MedInc" | "prediction");
        assert_eq!(f(c, "psi") > 0.1, drifted, "{name}: PSI {}", f(c, "psi"));
        assert_eq!(w > 0.1, drifted, "{name}: SciPy's W/SD {w}");
        assert_eq!(f(c, "wasserstein") > 0.1, drifted, "{name}: W/SD");
    }
    // The text and Markdown tables show the same figures.
    let text = run.ok(&["drift", "--data", drifted.to_str().unwrap()]);
    let medinc = &report["features"][0];
    assert!(
        text.contains(&format!("{:.4}", medinc["psi"].as_f64().unwrap())),
        "{text}"
    );
    let md = run.ok(&["drift", "--data", drifted.to_str().unwrap(), "--md"]);
    assert!(
        md.contains("| column | PSI | KS | W1/SD | out of range | mean shift |"),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "| MedInc | {:.4} |",
            medinc["psi"].as_f64().unwrap()
        )),
        "{md}"
    );
}

#[test]
fn fail_above_exits_3_past_a_threshold_and_0_below() {
    let run = Run::new();
    run.ok(&["train"]);
    let drifted = drifted_copy(run.dir.path());
    let data = drifted.to_str().unwrap();
    let out = run.run(&["drift", "--data", data, "--fail-above", "psi=0.2"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("MedInc psi") && stderr.contains("prediction psi"),
        "{stderr}"
    );
    assert!(!stderr.contains("HouseAge"), "{stderr}");
    assert!(String::from_utf8(out.stdout).unwrap().contains("MedInc"));
    run.ok(&[
        "drift",
        "--data",
        data,
        "--fail-above",
        "psi=5",
        "--fail-above",
        "ks=0.9",
    ]);
    // The training data itself: nothing drifted.
    run.ok(&[
        "drift",
        "--fail-above",
        "psi=0.1",
        "--fail-above",
        "wasserstein=0.1",
    ]);
    let (code, stderr) = run.fail(&["drift", "--data", data, "--fail-above", "psi"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("expected METRIC=VALUE"), "{stderr}");
    let (code, stderr) = run.fail(&["drift", "--data", data, "--fail-above", "psy=1"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a drift measure"), "{stderr}");
}

#[test]
fn bad_input_is_one_line_and_exit_1() {
    let run = Run::new();
    run.ok(&["train"]);
    let dir = run.dir.path();
    let text = std::fs::read_to_string(data_path()).unwrap();
    // A table without a column a feature needs.
    let without: String = text
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(7);
            cells.join(",") + "\n"
        })
        .collect();
    std::fs::write(dir.join("without.csv"), without).unwrap();
    // A header and no rows.
    std::fs::write(
        dir.join("empty.csv"),
        format!("{}\n", text.lines().next().unwrap()),
    )
    .unwrap();
    for (file, says) in [
        ("without.csv", "median_income"),
        ("empty.csv", "no data rows"),
    ] {
        let (code, stderr) = run.fail(&["drift", "--data", dir.join(file).to_str().unwrap()]);
        assert_eq!((code, stderr.lines().count()), (1, 1), "{file}: {stderr}");
        assert!(stderr.contains(says), "{file}: {stderr}");
    }
    // A model file of format version 1 keeps no training distributions: refused, saying so.
    let old = Run::new();
    std::fs::create_dir_all(old.artifacts()).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../linreg/tests/fixtures/california-v1.msgpack"
        ),
        old.artifacts().join("linear_model.msgpack"),
    )
    .unwrap();
    let refused = |run: &Run| {
        let (code, stderr) = run.fail(&["drift"]);
        assert_eq!((code, stderr.lines().count()), (1, 1), "{stderr}");
        assert!(
            stderr.contains("carries no training distributions"),
            "{stderr}"
        );
    };
    refused(&old);
    // Nor does one trained (in memory, streaming) with --no-distributions.
    for streaming in [&[][..], &["--streaming", "--split", "hash"]] {
        let mut args = vec!["train", "--no-distributions"];
        args.extend(streaming);
        old.ok(&args);
        refused(&old);
        let model = old.artifacts().join("linear_model.msgpack");
        let inspected = old.json(&["inspect", model.to_str().unwrap()]);
        assert_eq!(inspected["details"]["distributions"], "none");
    }
}

#[test]
fn the_guides_svg_is_what_drift_draws() {
    let run = Run::new();
    run.ok(&["train"]);
    // The guide's drifted table, made as the guide makes it.
    let awk = r#"awk -F, 'BEGIN { OFS = "," } NR > 1 { $8 = $8 * 1.3 } 1' "$CALI_REG_DATA" > drifted.csv"#;
    let made = std::process::Command::new("sh")
        .args(["-c", awk])
        .env("CALI_REG_DATA", data_path())
        .current_dir(run.dir.path())
        .status()
        .unwrap();
    assert!(made.success());
    let out = run.ok(&["drift", "--data", "drifted.csv", "--svg", "drift.svg"]);
    assert!(out.ends_with("Histograms: drift.svg\n"), "{out}");
    let drawn = std::fs::read_to_string(run.dir.path().join("drift.svg")).unwrap();
    let shown = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/drift.svg");
    assert!(
        drawn == std::fs::read_to_string(&shown).unwrap(),
        "docs/drift.svg is not what `cali-reg drift --svg` draws now: copy the new one there"
    );
    assert!(drawn.starts_with("<svg") && drawn.contains("MedInc: PSI 0.327"));
}

/// Evidently's DataDriftPreset on the training rows (scikit-learn's split, seed 42) and the
/// drifted table: each feature's `ValueDrift` score (above 1,000 rows, the Wasserstein distance
/// over the training standard deviation) and its threshold.
const EVIDENTLY: &str = r#"
import json, sys
import pandas as pd
from sklearn.model_selection import train_test_split
from evidently import Report
from evidently.presets import DataDriftPreset

train, _ = train_test_split(features(sys.argv[1]), test_size=0.2, random_state=42)
snapshot = Report([DataDriftPreset()]).run(current_data=features(sys.argv[2]), reference_data=train)
out = {}
for m in snapshot.dict()["metrics"]:
    c = m["config"]
    if c.get("type") == "evidently:metric_v2:ValueDrift":
        out[c["column"]] = {"method": c["method"], "score": m["value"], "threshold": c["threshold"]}
print(json.dumps(out))
"#;

#[test]
fn evidently_agrees_on_which_features_drifted() {
    let run = Run::new();
    run.ok(&["train"]);
    let drifted = drifted_copy(run.dir.path());
    let report = run.json(&["drift", "--data", drifted.to_str().unwrap()]);
    let evidently = python_of("CALI_REG_EVIDENTLY_PYTHON", "Evidently", "evidently.txt");
    let out = std::process::Command::new(evidently)
        .args(["-c", &format!("{FEATURES}{EVIDENTLY}")])
        .arg(data_path())
        .arg(&drifted)
        // No telemetry: the tests reach no network beyond loopback.
        .env("DO_NOT_TRACK", "1")
        .env("EVIDENTLY_DISABLE_TELEMETRY", "1")
        .output()
        .unwrap();
    let evidently = json_of(&out);
    for c in report["features"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let theirs = &evidently[name];
        assert_eq!(theirs["method"], "Wasserstein distance (normed)", "{name}");
        let (score, threshold) = (
            theirs["score"].as_f64().unwrap(),
            theirs["threshold"].as_f64().unwrap(),
        );
        let ours = c["wasserstein"].as_f64().unwrap();
        assert_eq!(
            ours > threshold,
            score > threshold,
            "{name}: ours {ours}, Evidently's {score}"
        );
        // Evidently's score is SciPy's full-data distance: within our histograms' bound.
        assert!(
            (ours - score).abs() <= c["wasserstein_bound"].as_f64().unwrap() + 1e-12,
            "{name}: {ours} against {score}"
        );
    }
    let drifted: Vec<&str> = report["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["wasserstein"].as_f64().unwrap() > 0.1)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(drifted, ["MedInc"]);
}

#[test]
fn standard_input_drifts_as_the_same_file() {
    let run = Run::new();
    run.ok(&["train"]);
    let drifted = drifted_copy(run.dir.path());
    let from_file = run.json(&["drift", "--data", drifted.to_str().unwrap()]);
    let out = crate::support::with_stdin(
        &mut run.cmd(&["drift", "--data", "-", "--json"]),
        &std::fs::read(&drifted).unwrap(),
    );
    let from_stdin = json_of(&out);
    assert_eq!(from_stdin["data"], "<stdin>");
    assert_eq!(from_stdin["features"], from_file["features"]);
    assert_eq!(from_stdin["prediction"], from_file["prediction"]);
}

/// For a model whose distributions come from sketches (argv[3]: its `drift --json` report of
/// the drifted table, argv[4]: the training rows' CSV), from NumPy and SciPy on the rows: the
/// training and new counts at the report's own edges, the PSI over them, KS and Wasserstein,
/// the mean shift and the share out of range; and whether each edge lies within a sketch
/// bucket (2⁻⁷ of its magnitude) of the two values the exact quantile `i/32` lies between.
const SKETCHED: &str = r#"
import json, sys
import numpy as np
from scipy import stats

train, new = features(sys.argv[1]), features(sys.argv[2])
report = json.loads(sys.argv[3])
coef = np.array(json.loads(sys.argv[4]))
intercept = float(sys.argv[5])
train["prediction"] = train.iloc[:, :8].to_numpy() @ coef + intercept
new["prediction"] = new.iloc[:, :8].to_numpy() @ coef + intercept

def near_a_quantile(e, s):
    for i in range(1, 32):
        j = int(np.floor(i / 32 * (len(s) - 1)))
        a, b = s[j], s[min(j + 1, len(s) - 1)]
        if a - abs(a) / 128 <= e <= b + abs(b) / 128:
            return True
    return False

result = {}
columns = report["features"] + ([report["prediction"]] if report["prediction"] else [])
for c in columns:
    r, q = train[c["name"]].to_numpy(), new[c["name"]].to_numpy()
    e = np.array(c["edges"])
    count = lambda v: np.bincount(np.searchsorted(e, v, side="right"), minlength=len(e) + 1)
    p, s = np.maximum(count(r) / len(r), 1e-4), np.maximum(count(q) / len(q), 1e-4)
    result[c["name"]] = {
        "training_counts": count(r).tolist(), "counts": count(q).tolist(),
        "psi": float(np.sum((s - p) * np.log(s / p))),
        "ks": float(stats.ks_2samp(r, q).statistic),
        "wasserstein": float(stats.wasserstein_distance(r, q) / np.std(r)),
        "mean_shift": float((q.mean() - r.mean()) / np.std(r)),
        "out_of_range": float(np.mean((q < r.min()) | (q > r.max()))),
        "edges_near": all(near_a_quantile(x, np.sort(r)) for x in e),
    }
print(json.dumps(result))
"#;

/// Check a sketched model's report against [`SKETCHED`]'s figures for `training` (a CSV of the
/// training rows): exact where the bins decide, within the brackets elsewhere; MedInc (and
/// the predictions, where measured) flagged, the rest not.
fn check_sketched(report: &Value, trained: &Value, training: &Path, drifted: &Path) {
    let expected: Value = serde_json::from_slice(&run_python(
        &format!("{FEATURES}{SKETCHED}"),
        &[
            training.to_str().unwrap(),
            drifted.to_str().unwrap(),
            &report.to_string(),
            &trained["coefficients"].to_string(),
            &trained["intercept"].to_string(),
        ],
    ))
    .unwrap();
    let mut columns: Vec<&Value> = report["features"].as_array().unwrap().iter().collect();
    columns.extend(
        report["prediction"]
            .as_object()
            .map(|_| &report["prediction"]),
    );
    for c in columns {
        let name = c["name"].as_str().unwrap();
        let want = &expected[name];
        let f = |v: &Value, key: &str| v[key].as_f64().unwrap();
        assert_eq!(c["training_counts"], want["training_counts"], "{name}");
        assert_eq!(c["counts"], want["counts"], "{name}");
        assert_eq!(want["edges_near"], true, "{name}: {}", c["edges"]);
        assert!(c["edges"].as_array().unwrap().len() >= 25, "{name}");
        for (key, tolerance) in [
            ("psi", 1e-12),
            ("mean_shift", 1e-9),
            ("out_of_range", 1e-12),
        ] {
            let (ours, theirs) = (f(c, key), f(want, key));
            assert!(
                (ours - theirs).abs() <= tolerance * theirs.abs().max(1.0),
                "{name} {key}: {ours} against {theirs}"
            );
        }
        within_brackets(c, want);
        let drifted = matches!(name, "MedInc" | "prediction");
        assert_eq!(f(c, "psi") > 0.1, drifted, "{name}: PSI {}", f(c, "psi"));
        assert_eq!(f(c, "wasserstein") > 0.1, drifted, "{name}: W/SD");
    }
}

#[test]
fn streaming_and_merged_statistics_measure_drift_from_their_sketches() {
    let run = Run::new();
    let drifted = drifted_copy(run.dir.path());
    let data = data_path();
    // Streaming, every row a training row: the features' and target's distributions from the
    // one pass's sketches, the predictions' from a second pass.
    let trained = run.json(&[
        "train",
        "--streaming",
        "--split",
        "hash",
        "--test-size",
        "0",
    ]);
    let streamed = run.json(&["drift", "--data", drifted.to_str().unwrap()]);
    assert_eq!(streamed["training_rows"], 20640);
    assert!(streamed["prediction"].is_object(), "{streamed}");
    check_sketched(&streamed, &trained, &data, &drifted);

    // Statistics files of two halves, merged: the same sketches, so the same bins and counts;
    // no predictions' distribution (the rows are not at hand), said in the report.
    let text = std::fs::read_to_string(&data).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let rows: Vec<&str> = rows.lines().collect();
    let mut files = Vec::new();
    for (i, half) in rows.chunks(rows.len() / 2 + 1).enumerate() {
        let csv = run.dir.path().join(format!("half{i}.csv"));
        std::fs::write(&csv, format!("{header}\n{}\n", half.join("\n"))).unwrap();
        let stats = run.dir.path().join(format!("half{i}.stats"));
        run.ok(&[
            "stats",
            "--data",
            csv.to_str().unwrap(),
            "-o",
            stats.to_str().unwrap(),
        ]);
        files.push(stats.display().to_string());
    }
    let merged = Run::new();
    let mut args = vec!["train", "--from-stats"];
    args.extend(files.iter().map(String::as_str));
    let fitted = merged.json(&args);
    let report = merged.json(&["drift", "--data", drifted.to_str().unwrap()]);
    assert!(report["prediction"].is_null(), "{report}");
    let model = merged.artifacts().join("linear_model.msgpack");
    let inspected = merged.json(&["inspect", model.to_str().unwrap()]);
    assert_eq!(inspected["details"]["distributions"], "features and target");
    for (a, b) in report["features"]
        .as_array()
        .unwrap()
        .iter()
        .zip(streamed["features"].as_array().unwrap())
    {
        assert_eq!(
            (&a["edges"], &a["training_counts"]),
            (&b["edges"], &b["training_counts"])
        );
    }
    check_sketched(&report, &fitted, &data, &drifted);
    let text = merged.ok(&["drift", "--data", drifted.to_str().unwrap()]);
    assert!(
        text.contains("prediction: not measured (the model was fitted from statistics files"),
        "{text}"
    );
}
