//! Training distributions and drift measures against full-data computations by NumPy and
//! SciPy: California's features, every other row the training rows, the rest drifted.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::process::Command;

use linreg::drift::{DEFAULT_BINS, Distribution};

/// The test venv's Python (`CALI_REG_PYTHON`, set by `cargo xtask test`); fails, never skips.
fn python() -> PathBuf {
    std::env::var_os("CALI_REG_PYTHON")
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "this test needs SciPy: run the tests with `cargo xtask test`, or set \
                 CALI_REG_PYTHON to a python that has the packages in xtask/python/test.txt"
            )
        })
}

/// NumPy's quantiles, the PSI over the given edges, the shares below each edge, SciPy's
/// two-sample KS statistic and Wasserstein distance (over the training values' population
/// standard deviation), the mean shift and the share out of range: one JSON object per column.
const REFERENCE: &str = r#"
import json, sys
import numpy as np
from scipy import stats
ref = np.loadtxt(sys.argv[1], delimiter=",", ndmin=2)
new = np.loadtxt(sys.argv[2], delimiter=",", ndmin=2)
edges = json.loads(sys.argv[3])
bins = int(sys.argv[4])
out = []
for j in range(ref.shape[1]):
    r, q, e = ref[:, j], new[:, j], np.array(edges[j], dtype=float)
    share = lambda v: np.bincount(np.searchsorted(e, v, side="right"), minlength=len(e) + 1) / len(v)
    p, s = np.maximum(share(r), 1e-4), np.maximum(share(q), 1e-4)
    below = lambda v: np.searchsorted(np.sort(v), e, side="left") / len(v)
    out.append({
        "quantiles": [float(np.quantile(r, i / bins)) for i in range(1, bins)],
        "psi": float(np.sum((s - p) * np.log(s / p))),
        "ks_edges": float(np.max(np.abs(below(r) - below(q)))) if len(e) else 0.0,
        "ks": float(stats.ks_2samp(r, q).statistic),
        "wasserstein": float(stats.wasserstein_distance(r, q) / np.std(r)),
        "mean_shift": float((q.mean() - r.mean()) / np.std(r)),
        "out_of_range": float(np.mean((q < r.min()) | (q > r.max()))),
    })
print(json.dumps(out))
"#;

fn write_columns(path: &std::path::Path, columns: &[Vec<f64>]) {
    let rows = columns[0].len();
    let text: String = (0..rows)
        .map(|r| {
            let line: Vec<String> = columns.iter().map(|c| format!("{:?}", c[r])).collect();
            line.join(",") + "\n"
        })
        .collect();
    std::fs::write(path, text).expect("the temporary folder takes the columns");
}

#[test]
fn measures_equal_numpy_and_scipy_on_the_full_data_or_lie_within_their_bounds() {
    let path = dataset::local_copy()
        .unwrap_or_else(|e| panic!("this test needs the California Housing data: {e}"));
    let table = dataset::load_path(&path, &dataset::Spec::default()).unwrap();
    let names = table.feature_names();
    let (n, p) = (table.x.nrows(), table.x.ncols());
    // Training rows: the even ones. New rows: the odd ones, incomes scaled by 1.3 and
    // occupancy by 1.5, the others as they are.
    let column = |j: usize, parity: usize| -> Vec<f64> {
        (parity..n).step_by(2).map(|r| table.x[(r, j)]).collect()
    };
    let reference: Vec<Vec<f64>> = (0..p).map(|j| column(j, 0)).collect();
    let new: Vec<Vec<f64>> = (0..p)
        .map(|j| {
            let values = column(j, 1);
            match names[j].as_str() {
                "MedInc" => values.iter().map(|v| v * 1.3).collect(),
                "AveOccup" => values.iter().map(|v| v * 1.5).collect(),
                _ => values,
            }
        })
        .collect();
    let distributions: Vec<Distribution> = reference
        .iter()
        .map(|v| Distribution::of(v, DEFAULT_BINS).unwrap())
        .collect();
    let dir = std::env::temp_dir().join(format!("cali-reg-drift-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write_columns(&dir.join("ref.csv"), &reference);
    write_columns(&dir.join("new.csv"), &new);
    let edges: Vec<Vec<f64>> = distributions
        .iter()
        .map(|d| d.edges().iter().map(|&e| f64::from(e)).collect())
        .collect();
    let out = Command::new(python())
        .args(["-c", REFERENCE])
        .arg(dir.join("ref.csv"))
        .arg(dir.join("new.csv"))
        .arg(serde_json::to_string(&edges).unwrap())
        .arg(DEFAULT_BINS.to_string())
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let f = |v: &serde_json::Value, key: &str| v[key].as_f64().unwrap();
    for (j, ((d, values), want)) in distributions.iter().zip(&new).zip(&expected).enumerate() {
        let name = &names[j];
        // The edges are NumPy's quantiles, rounded to f32 (tied ones once).
        let quantiles: Vec<f32> = want["quantiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q.as_f64().unwrap() as f32)
            .collect();
        assert!(
            d.edges().iter().all(|e| quantiles.contains(e)),
            "{name}: edges"
        );
        assert!(
            d.edges().len() >= 16,
            "{name}: {} bins",
            d.edges().len() + 1
        );
        let mut tally = d.tally();
        for &v in values {
            tally.push(d, v);
        }
        let drift = d.drift(&tally).unwrap();
        let close = |ours: f64, theirs: f64, what: &str| {
            assert!(
                (ours - theirs).abs() <= 1e-12 * theirs.abs().max(1.0),
                "{name} {what}: {ours} against {theirs}"
            );
        };
        // Exact where the bins determine them.
        close(drift.psi, f(want, "psi"), "PSI");
        close(drift.ks, f(want, "ks_edges"), "KS at the edges");
        close(drift.mean_shift, f(want, "mean_shift"), "mean shift");
        close(
            drift.out_of_range,
            f(want, "out_of_range"),
            "share out of range",
        );
        // Bracketed or bounded where the full data say more than the bins.
        let ks = f(want, "ks");
        assert!(
            drift.ks <= ks + 1e-12 && ks <= drift.ks_upper + 1e-12,
            "{name}: KS {ks} outside [{}, {}]",
            drift.ks,
            drift.ks_upper
        );
        let w = f(want, "wasserstein");
        assert!(
            (drift.wasserstein - w).abs() <= drift.wasserstein_bound + 1e-12,
            "{name}: Wasserstein {w} against {} ± {}",
            drift.wasserstein,
            drift.wasserstein_bound
        );
        println!(
            "{name:>10}: PSI {:.4} KS {:.4} (SciPy {ks:.4}, ≤ {:.4}) W/σ {:.4} (SciPy {w:.4}, ± {:.4}) shift {:+.3}",
            drift.psi,
            drift.ks,
            drift.ks_upper,
            drift.wasserstein,
            drift.wasserstein_bound,
            drift.mean_shift
        );
        // The drifted columns pass the usual thresholds (PSI 0.1; Evidently's 0.1 for W/σ),
        // the others do not, and the histograms' W/σ decides as SciPy's does.
        let drifted = matches!(name.as_str(), "MedInc" | "AveOccup");
        assert_eq!(drift.psi > 0.1, drifted, "{name}: PSI {}", drift.psi);
        assert_eq!(w > 0.1, drifted, "{name}: W/σ {w}");
        assert_eq!(
            drift.wasserstein > 0.1,
            drifted,
            "{name}: W/σ {}",
            drift.wasserstein
        );
    }
}
