//! The fitting options: `--no-intercept`, `--test-size 0`, and the same fit from every path
//! (in memory, streaming, statistics files), against least squares by SVD on the same rows.

use approx::assert_relative_eq;
use nalgebra::{DMatrix, DVector};
use serde_json::Value;

use crate::support::{Run, data_path, floats};

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

/// Two fits' coefficients, intercept and R² (where both print one) agree to `tol` relative.
fn assert_same_fit(a: &Value, b: &Value, tol: f64) {
    assert_same(
        &floats(&a["coefficients"]),
        &floats(&b["coefficients"]),
        tol,
        "coefficients",
    );
    for key in ["intercept", "r2"] {
        if let (Some(x), Some(y)) = (a[key].as_f64(), b[key].as_f64()) {
            assert_relative_eq!(x, y, max_relative = tol);
        }
    }
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
    assert_same_fit(&streamed, &memory, 1e-12);
    let stats = run.dir.path().join("all.stats");
    let with = run.dir.path().join("with.stats");
    run.ok(&["stats", "-o", stats.to_str().unwrap(), "--no-intercept"]);
    run.ok(&["stats", "-o", with.to_str().unwrap()]);
    let merged = run.json(&["train", "--from-stats", stats.to_str().unwrap()]);
    assert_eq!(merged["intercept"], 0.0);
    assert_same_fit(&merged, &memory, 1e-12);

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

/// scikit-learn 1.9.1 (numpy 2.4.6), `LinearRegression(tol=0).fit(X_train, y_train,
/// sample_weight=households_train)` on the seed split, and `r2_score`/`mean_squared_error` of
/// the test rows with their weights: `docs/compare/weighted_reference.py` prints these.
/// (coefficients, intercept, R², RMSE), with and without an intercept.
const SKLEARN_WEIGHTED: [([f64; 8], f64, f64, f64); 2] = [
    (
        [
            0.5301085137331789,
            0.012687396819600483,
            -0.24261789519158058,
            1.483069801118544,
            6.242320211795814e-06,
            -0.06679006912806995,
            -0.3870047222261688,
            -0.40288153459369924,
        ],
        -34.797013044613536,
        0.6194241021063844,
        0.6962098393176263,
    ),
    (
        [
            0.6230364831650556,
            0.017901425588995032,
            -0.3495644396766738,
            1.6928472976605504,
            1.0402393456654325e-05,
            -0.07145650233821368,
            -0.0401619496689914,
            -0.007300513769713626,
        ],
        0.0,
        0.5715473872147427,
        0.738704788393488,
    ),
];

#[test]
fn weighted_by_households_equals_scikit_learn() {
    let run = Run::new();
    for ((coefficients, intercept, r2, rmse), flags) in
        SKLEARN_WEIGHTED.iter().zip([&[][..], &["--no-intercept"]])
    {
        let args = [&["train", "--weight", "households"][..], flags].concat();
        let j = run.json(&args);
        assert_same(
            &floats(&j["coefficients"]),
            coefficients,
            1e-9,
            "coefficients",
        );
        assert_relative_eq!(
            j["intercept"].as_f64().unwrap(),
            *intercept,
            max_relative = 1e-9
        );
        assert_relative_eq!(j["r2"].as_f64().unwrap(), *r2, max_relative = 1e-9);
        assert_relative_eq!(j["rmse"].as_f64().unwrap(), *rmse, max_relative = 1e-9);
        let evaluated = run.json(&["evaluate", "--weight", "households"]);
        assert_relative_eq!(evaluated["r2"].as_f64().unwrap(), *r2, max_relative = 1e-9);
    }
    let record: Value =
        serde_json::from_slice(&std::fs::read(run.artifacts().join("run.json")).unwrap()).unwrap();
    assert_eq!(record["parameters"]["weight"], "households");

    // Every row, three ways: in memory, streaming, and a statistics file.
    let all = ["--weight", "households", "--test-size", "0"];
    let memory = run.json(&[&["train"][..], &all].concat());
    let streamed = run.json(&[&["train", "--streaming", "--split", "hash"][..], &all].concat());
    let stats = run.dir.path().join("w.stats");
    run.ok(&[
        "stats",
        "-o",
        stats.to_str().unwrap(),
        "--weight",
        "households",
    ]);
    let merged = run.json(&["train", "--from-stats", stats.to_str().unwrap()]);
    for other in [&streamed, &merged] {
        assert_same_fit(other, &memory, 1e-12);
    }
}

/// A small table of integer weights, and the same table with each row repeated as many times
/// as its weight (a second route to weighted least squares).
fn weighted_tables(run: &Run) -> (std::path::PathBuf, std::path::PathBuf) {
    let (mut weighted, mut repeated) = (String::from("w,a,b,y\n"), String::from("a,b,y\n"));
    for i in 0..40_u32 {
        let (a, b) = (f64::from(i) * 0.25, f64::from((i * 7) % 11));
        let y = 1.5 * a - 0.5 * b + 2.0 + f64::from(i % 5) * 0.1;
        let w = (i * 3) % 4;
        weighted.push_str(&format!("{w},{a},{b},{y}\n"));
        for _ in 0..w {
            repeated.push_str(&format!("{a},{b},{y}\n"));
        }
    }
    let (wp, rp) = (run.dir.path().join("w.csv"), run.dir.path().join("r.csv"));
    std::fs::write(&wp, weighted).unwrap();
    std::fs::write(&rp, repeated).unwrap();
    (wp, rp)
}

#[test]
fn integer_weights_equal_repeated_rows_and_bad_weights_are_refused() {
    let run = Run::new();
    let (weighted, repeated) = weighted_tables(&run);
    let w = weighted.to_str().unwrap();
    let base = ["--target", "y", "--test-size", "0"];
    let by_weight = run.json(&[&["train", "--data", w, "--weight", "w"][..], &base].concat());
    let by_rows = run.json(&[&["train", "--data", repeated.to_str().unwrap()][..], &base].concat());
    assert_eq!(by_weight["features"], serde_json::json!(["a", "b"]));
    assert_same_fit(&by_weight, &by_rows, 1e-12);

    // Bad weights, by every reader: named by file and line, and no model written.
    let text = std::fs::read_to_string(&weighted).unwrap();
    let with_first_weight = |value: &str| {
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let rest = lines[1].split_once(',').unwrap().1.to_owned();
        lines[1] = format!("{value},{rest}");
        lines.join("\n") + "\n"
    };
    let cases = [
        (
            with_first_weight("-1"),
            "bad.csv:2: weight column w: -1 is not a usable weight",
        ),
        (with_first_weight("NaN"), "bad.csv:2: column w"),
        (
            text.lines()
                .enumerate()
                .map(|(i, l)| {
                    if i == 0 {
                        l.to_owned()
                    } else {
                        format!("0{}", &l[l.find(',').unwrap()..])
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n",
            "every weight in column w is 0",
        ),
    ];
    let bad = run.dir.path().join("bad.csv");
    let stats = run.dir.path().join("bad.stats");
    for (content, needle) in cases {
        std::fs::write(&bad, content).unwrap();
        let b = bad.to_str().unwrap();
        for command in [
            &["train", "--data", b][..],
            &["train", "--data", b, "--streaming", "--split", "hash"],
            &["stats", "--data", b, "-o", stats.to_str().unwrap()],
        ] {
            std::fs::remove_file(run.artifacts().join("linear_model.msgpack")).ok();
            let (code, err) = run.fail(&[command, &["--target", "y", "--weight", "w"]].concat());
            assert_eq!(code, 1, "{command:?}");
            assert!(err.contains(needle), "{command:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(!run.artifacts().join("linear_model.msgpack").exists());
            assert!(!stats.exists());
        }
    }
    // The weight column must exist, and be neither the target nor a feature.
    for (weight, needle) in [("v", "v"), ("y", "cannot also be"), ("a", "cannot also be")] {
        let mut args = vec!["train", "--data", w, "--target", "y", "--weight", weight];
        if weight == "a" {
            args.extend(["--features", "a,b"]);
        }
        let (_, err) = run.fail(&args);
        assert!(err.contains(needle), "{weight}: {err}");
    }
}
