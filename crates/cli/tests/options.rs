//! The fitting options: `--no-intercept`, `--test-size 0`, and the same fit from every path
//! (in memory, streaming, statistics files), against least squares by SVD on the same rows.

use approx::assert_relative_eq;
use nalgebra::{DMatrix, DVector};
use serde_json::Value;

use crate::support::{Run, data_path};

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Least squares on every row of California by SVD (a second method), with or without an
/// intercept column: (coefficients, intercept).
fn svd_all_rows(intercept: bool) -> (Vec<f64>, f64) {
    let table = dataset::load_path(&data_path(), &dataset::Spec::default()).unwrap();
    let (n, p) = table.x.shape();
    let k = p + usize::from(intercept);
    let a = DMatrix::from_fn(n, k, |r, c| if c < p { table.x[(r, c)] } else { 1.0 });
    let beta = a.svd(true, true).solve(&table.y, 1e-15).unwrap();
    let b = if intercept { beta[p] } else { 0.0 };
    (beta.as_slice()[..p].to_vec(), b)
}

/// R² (centred, as scikit-learn's `r2_score`) and RMSE of a linear function on every row.
fn direct_metrics(coefficients: &[f64], intercept: f64) -> (f64, f64) {
    let table = dataset::load_path(&data_path(), &dataset::Spec::default()).unwrap();
    let predicted = &table.x * DVector::from_column_slice(coefficients)
        + DVector::from_element(table.y.len(), intercept);
    let residual = &table.y - predicted;
    let mean = table.y.mean();
    let total: f64 = table.y.iter().map(|v| (v - mean).powi(2)).sum();
    let ss = residual.norm_squared();
    (1.0 - ss / total, (ss / table.y.len() as f64).sqrt())
}

fn assert_same(a: &[f64], b: &[f64], tol: f64, what: &str) {
    for (x, y) in a.iter().zip(b) {
        assert_relative_eq!(*x, *y, max_relative = tol);
    }
    assert_eq!(a.len(), b.len(), "{what}");
}

#[test]
fn no_intercept_on_every_row_from_every_path() {
    let run = Run::new();
    let memory = run.json(&["train", "--no-intercept", "--test-size", "0"]);
    assert_eq!(memory["intercept"], 0.0);
    assert_eq!(memory["fit_intercept"], false);
    assert_eq!(memory["in_sample"], true);
    let coefficients = floats(&memory["coefficients"]);
    let (reference, _) = svd_all_rows(false);
    assert_same(&coefficients, &reference, 1e-9, "against SVD");
    let (r2, rmse) = direct_metrics(&coefficients, 0.0);
    assert_relative_eq!(memory["r2"].as_f64().unwrap(), r2, max_relative = 1e-12);
    assert_relative_eq!(memory["rmse"].as_f64().unwrap(), rmse, max_relative = 1e-12);
    let record: Value =
        serde_json::from_slice(&std::fs::read(run.artifacts().join("run.json")).unwrap()).unwrap();
    assert_eq!(record["parameters"]["fit_intercept"], false);
    assert_eq!(record["metrics"]["float"]["in_sample"], true);
    assert!(
        run.ok(&["train", "--no-intercept", "--test-size", "0"])
            .contains("(in-sample: every row trained)")
    );

    // Streaming (a hash split holding nothing out) and a statistics file give the same model.
    let streamed = run.json(&[
        "train",
        "--streaming",
        "--split",
        "hash",
        "--test-size",
        "0",
        "--no-intercept",
    ]);
    assert_eq!(streamed["in_sample"], true);
    assert_same(
        &floats(&streamed["coefficients"]),
        &coefficients,
        1e-12,
        "streamed",
    );
    assert_relative_eq!(streamed["r2"].as_f64().unwrap(), r2, max_relative = 1e-12);
    let stats = run.dir.path().join("all.stats");
    let with = run.dir.path().join("with.stats");
    run.ok(&["stats", "-o", stats.to_str().unwrap(), "--no-intercept"]);
    run.ok(&["stats", "-o", with.to_str().unwrap()]);
    let merged = run.json(&["train", "--from-stats", stats.to_str().unwrap()]);
    assert_eq!(merged["intercept"], 0.0);
    assert_same(
        &floats(&merged["coefficients"]),
        &coefficients,
        1e-12,
        "from statistics",
    );

    // Files for different models do not merge; the flag must agree with the files.
    let (_, err) = run.fail(&[
        "train",
        "--from-stats",
        stats.to_str().unwrap(),
        with.to_str().unwrap(),
    ]);
    assert!(
        err.contains("written for a model with an intercept"),
        "{err}"
    );
    let (_, err) = run.fail(&[
        "train",
        "--from-stats",
        with.to_str().unwrap(),
        "--no-intercept",
    ]);
    assert!(err.contains("--no-intercept"), "{err}");

    // The model keeps it: inspect says so, quantising keeps the origin, prediction honours it.
    run.ok(&["train", "--no-intercept", "--test-size", "0"]);
    let model = run.artifacts().join("linear_model.msgpack");
    let shown = run.json(&["inspect", model.to_str().unwrap()]);
    assert_eq!(shown["fit_intercept"], false);
    assert!(
        run.ok(&["inspect", model.to_str().unwrap()])
            .contains("none (through the origin)")
    );
    run.ok(&["quantize"]);
    let quantised = run.artifacts().join("quant_model.msgpack");
    assert_eq!(
        run.json(&["inspect", quantised.to_str().unwrap()])["intercept"],
        0.0
    );
    let input = run.dir.path().join("one.csv");
    std::fs::write(&input, "MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude\n1,0,0,0,0,0,0,0\n").unwrap();
    let out = run.ok(&["predict", "--input", input.to_str().unwrap()]);
    let predicted: f64 = out
        .lines()
        .nth(1)
        .unwrap()
        .rsplit(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_relative_eq!(predicted, coefficients[0], max_relative = 1e-15);
}

#[test]
fn test_size_zero_fits_every_row_and_leaves_nothing_to_score() {
    let run = Run::new();
    let j = run.json(&["train", "--test-size", "0"]);
    assert_eq!(j["in_sample"], true);
    assert_eq!(j["train_rows"], 20_640);
    assert_eq!(j["test_rows"], 0);
    let (reference, intercept) = svd_all_rows(true);
    assert_same(&floats(&j["coefficients"]), &reference, 1e-9, "against SVD");
    assert_relative_eq!(
        j["intercept"].as_f64().unwrap(),
        intercept,
        max_relative = 1e-9
    );
    let (r2, _) = direct_metrics(&reference, intercept);
    assert_relative_eq!(j["r2"].as_f64().unwrap(), r2, max_relative = 1e-12);
    for command in [&["evaluate"][..], &["predict"], &["report"]] {
        let (code, err) = run.fail(command);
        assert_eq!(code, 1, "{command:?}");
        assert!(
            err.contains("--test-size 0") || err.contains("quantize"),
            "{command:?}: {err}"
        );
    }
    let (_, err) = run.fail(&["evaluate"]);
    assert!(err.contains("no held-out rows to score"), "{err}");
    run.ok(&[
        "train",
        "--streaming",
        "--split",
        "hash",
        "--test-size",
        "0",
    ]);
    let (_, err) = run.fail(&["evaluate"]);
    assert!(err.contains("no held-out rows to score"), "{err}");
    // Below 0 and from 1 up are still refused.
    for bad in ["--test-size=-0.1", "--test-size=1"] {
        let (_, err) = run.fail(&["train", bad]);
        assert!(err.contains("is out of range"), "{bad}: {err}");
    }
}
