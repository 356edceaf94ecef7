//! `cali-reg summary` against statsmodels 0.15 (`OLS`, `WLS` with weights, without a constant)
//! on California's seed split, and the same figures from every training path.

use std::path::Path;

use serde_json::Value;

use crate::support::{Run, data_path, run_python};

/// What the Python scripts below start with: California's table with the features
/// `cali-reg train` derives (`california(path)` gives `X`, `y` and the households column).
const CALIFORNIA: &str = r#"
import pandas as pd

def california(path):
    d = pd.read_csv(path)
    X = pd.DataFrame({"MedInc": d.median_income, "HouseAge": d.housing_median_age,
        "AveRooms": d.total_rooms / d.households, "AveBedrms": d.total_bedrooms / d.households,
        "Population": d.population, "AveOccup": d.population / d.households,
        "Latitude": d.latitude, "Longitude": d.longitude})
    return X, d.median_house_value / 100000, d.households
"#;

/// A script of this file run after [`CALIFORNIA`] with `args` (the data set's path first),
/// its standard output read as JSON.
fn reference<T: serde::de::DeserializeOwned>(body: &str, args: &[&str]) -> T {
    let data = data_path();
    let mut all = vec![data.to_str().unwrap()];
    all.extend_from_slice(args);
    serde_json::from_slice(&run_python(&format!("{CALIFORNIA}{body}"), &all)).unwrap()
}

/// statsmodels' fit of the same training rows (scikit-learn's split, seed 42) and our summary
/// (argv[2]), compared: for each figure, the largest relative difference (p-values: 0 when both
/// are below 1e-300).
const STATSMODELS: &str = r#"
import json, sys
import numpy as np, pandas as pd, statsmodels.api as sm
from sklearn.model_selection import train_test_split
data, ours, kind = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
X, y, households = california(data)
Xtr, _, ytr, _, wtr, _ = train_test_split(X, y, households, test_size=0.2, random_state=42)
if kind == "ols":
    r = sm.OLS(ytr, sm.add_constant(Xtr)).fit()
elif kind == "wls":
    r = sm.WLS(ytr, sm.add_constant(Xtr), weights=wtr).fit()
else:
    r = sm.OLS(ytr, Xtr).fit()
def rel(a, b):
    if a is None or b is None:
        return float("inf") if (a is None) != (b is None) else 0.0
    return abs(a - b) / max(abs(b), 1e-300)
ci = r.conf_int(ours["alpha"]).to_numpy()
worst = {}
names = list(r.params.index)
assert [e["name"] for e in ours["estimates"]] == names, names
for i, e in enumerate(ours["estimates"]):
    for key, ref in [("coef", r.params.iloc[i]), ("std_err", r.bse.iloc[i]),
                     ("t", r.tvalues.iloc[i]), ("ci_lower", ci[i, 0]), ("ci_upper", ci[i, 1])]:
        worst[key] = max(worst.get(key, 0.0), rel(e[key], ref))
    p, ref = e["p_value"], r.pvalues.iloc[i]
    worst["p_value"] = max(worst.get("p_value", 0.0), 0.0 if p < 1e-300 and ref < 1e-300 else rel(p, ref))
for key, ref in [("r2", r.rsquared), ("adj_r2", r.rsquared_adj), ("f_statistic", r.fvalue),
                 ("scale", r.scale), ("ssr", r.ssr), ("df_resid", r.df_resid), ("df_model", r.df_model),
                 ("nobs", r.nobs), ("condition_number", r.condition_number),
                 ("log_likelihood", r.llf), ("aic", r.aic), ("bic", r.bic)]:
    worst[key] = rel(ours[key], ref)
p, ref = ours["f_p_value"], r.f_pvalue
worst["f_p_value"] = 0.0 if p < 1e-300 and ref < 1e-300 else rel(p, ref)
centred = 1 - r.ssr / np.sum((ytr - ytr.mean()) ** 2)
print(json.dumps({"worst": worst, "centred_r2": float(centred)}))
"#;

/// Our summary, then statsmodels' comparison of it.
fn compare(run: &Run, kind: &str) -> (Value, Value) {
    let summary = run.json(&["summary"]);
    let file = run.dir.path().join("summary.json");
    std::fs::write(&file, summary.to_string()).unwrap();
    let compared: Value = reference(STATSMODELS, &[file.to_str().unwrap(), kind]);
    // The figures of docs/ACCURACY.md's table (`-- --nocapture` shows them).
    eprintln!("{kind}: largest relative differences {}", compared["worst"]);
    (summary, compared)
}

fn assert_within(compared: &Value, kind: &str) {
    for (key, worst) in compared["worst"].as_object().unwrap() {
        let worst = worst.as_f64().unwrap();
        let tolerance = if key.ends_with("p_value") { 1e-6 } else { 1e-9 };
        assert!(
            worst <= tolerance,
            "{kind}: {key} differs from statsmodels by {worst:e} relative"
        );
    }
}

#[test]
fn summary_equals_statsmodels_ols_on_the_seed_split() {
    let run = Run::new();
    run.ok(&["train"]);
    let (summary, compared) = compare(&run, "ols");
    assert_within(&compared, "OLS");
    assert_eq!(summary["method"], "OLS");
    assert_eq!(summary["nobs"], 16512);
    // The text names the same figures.
    let text = run.ok(&["summary", "--alpha", "0.01"]);
    assert!(text.contains("OLS Regression Results"), "{text}");
    assert!(text.contains("[0.005") && text.contains("0.995]"), "{text}");
    assert!(
        text.contains("R-squared:                   0.612551"),
        "{text}"
    );
}

#[test]
fn summary_equals_statsmodels_wls_with_weights() {
    let run = Run::new();
    run.ok(&["train", "--weight", "households"]);
    let (summary, compared) = compare(&run, "wls");
    assert_within(&compared, "WLS");
    assert_eq!(summary["method"], "WLS");
    // statsmodels' WLS log-likelihood has ½ Σ ln w, which the statistics keep.
    assert!(summary["log_likelihood"].is_number() && summary["aic"].is_number());
}

#[test]
fn without_an_intercept_r2_is_the_uncentred_one_as_statsmodels_reports() {
    let run = Run::new();
    run.ok(&["train", "--no-intercept"]);
    let (summary, compared) = compare(&run, "noconst");
    assert_within(&compared, "OLS without a constant");
    let r2 = summary["r2"].as_f64().unwrap();
    let centred = compared["centred_r2"].as_f64().unwrap();
    // Uncentred (1 − SSR/Σy²) is far above the centred 1 − SSR/Σ(y − ȳ)².
    assert!(r2 > centred + 0.1, "{r2} vs centred {centred}");
    let text = run.ok(&["summary"]);
    assert!(
        text.contains("No intercept: R² is the uncentred one"),
        "{text}"
    );
}

#[test]
fn every_training_path_gives_the_same_summary() {
    let memory = Run::new();
    memory.ok(&["train", "--test-size", "0"]);
    let streamed = Run::new();
    streamed.ok(&["train", "--streaming", "--test-size", "0"]);
    let merged = Run::new();
    let stats = merged.dir.path().join("all.stats");
    merged.ok(&["stats", "-o", stats.to_str().unwrap()]);
    merged.ok(&["train", "--from-stats", stats.to_str().unwrap()]);
    let reference = memory.json(&["summary"]);
    for (path, run) in [("streaming", &streamed), ("statistics file", &merged)] {
        let other = run.json(&["summary"]);
        for key in ["r2", "f_statistic", "scale", "condition_number"] {
            let (a, b) = (
                other[key].as_f64().unwrap(),
                reference[key].as_f64().unwrap(),
            );
            assert!((a - b).abs() <= 1e-9 * b.abs(), "{path}: {key} {a} vs {b}");
        }
        for (e, r) in other["estimates"]
            .as_array()
            .unwrap()
            .iter()
            .zip(reference["estimates"].as_array().unwrap())
        {
            for key in ["coef", "std_err", "t", "ci_lower", "ci_upper"] {
                let (a, b) = (e[key].as_f64().unwrap(), r[key].as_f64().unwrap());
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs(),
                    "{path}: {} {key} {a} vs {b}",
                    e["name"]
                );
            }
        }
    }
}

#[test]
fn summary_of_a_bad_alpha_or_no_model_is_one_line() {
    let run = Run::new();
    let (code, stderr) = run.fail(&["summary"]);
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    run.ok(&["train"]);
    let (code, stderr) = run.fail(&["summary", "--alpha", "1.5"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("alpha 1.5: must be between 0 and 1"),
        "{stderr}"
    );
}

/// scikit-learn's `cross_validate(LinearRegression(), X, y, cv=KFold(k, shuffle, seed))` on
/// the whole data set, each fold's R², RMSE and MAE as JSON lists.
const CROSS_VALIDATE: &str = r#"
import json, sys
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold, cross_validate
data, k, seed, intercept = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
X, y, households = california(data)
folds = KFold(k) if seed == "none" else KFold(k, shuffle=True, random_state=int(seed))
s = cross_validate(LinearRegression(fit_intercept=intercept), X, y, cv=folds,
                   scoring=["r2", "neg_root_mean_squared_error", "neg_mean_absolute_error"])
print(json.dumps({"r2": list(s["test_r2"]), "rmse": [-v for v in s["test_neg_root_mean_squared_error"]],
                  "mae": [-v for v in s["test_neg_mean_absolute_error"]]}))
"#;

#[test]
fn cv_equals_scikit_learns_cross_validate_with_kfold() {
    let run = Run::new();
    for (args, k, seed, intercept) in [
        (vec!["cv"], "5", "none", "1"),
        (
            vec!["cv", "--folds", "10", "--shuffle", "--seed", "7"],
            "10",
            "7",
            "1",
        ),
        (
            vec!["cv", "--folds", "3", "--shuffle", "--no-intercept"],
            "3",
            "42",
            "0",
        ),
    ] {
        let ours = run.json(&args);
        let theirs: Value = reference(CROSS_VALIDATE, &[k, seed, intercept]);
        let folds = ours["folds"].as_array().unwrap();
        assert_eq!(folds.len(), k.parse::<usize>().unwrap());
        for key in ["r2", "rmse", "mae"] {
            let expected = theirs[key].as_array().unwrap();
            let mut values = Vec::new();
            for (fold, reference) in folds.iter().zip(expected) {
                let (a, b) = (fold[key].as_f64().unwrap(), reference.as_f64().unwrap());
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs(),
                    "{args:?} fold {}: {key} {a} vs {b}",
                    fold["fold"]
                );
                values.push(b);
            }
            // numpy's mean and std (ddof=0) of scikit-learn's scores.
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
                / values.len() as f64)
                .sqrt();
            let (m, s) = (
                ours["mean"][key].as_f64().unwrap(),
                ours["std"][key].as_f64().unwrap(),
            );
            assert!(
                (m - mean).abs() <= 1e-9 * mean.abs(),
                "{args:?}: mean {key} {m} vs {mean}"
            );
            assert!(
                (s - std).abs() <= 1e-8 * std.abs(),
                "{args:?}: std {key} {s} vs {std}"
            );
        }
    }
}

#[test]
fn cv_refuses_impossible_folds_and_a_seed_without_shuffle() {
    let run = Run::new();
    let (code, stderr) = run.fail(&["cv", "--folds", "1"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--folds 1: k-fold cross-validation needs 2 to 20640 folds"),
        "{stderr}"
    );
    let (code, stderr) = run.fail(&["cv", "--seed", "3"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--seed goes with --shuffle or --streaming"),
        "{stderr}"
    );
}

/// scikit-learn's `Ridge(alpha)` on the seed split's training rows: intercept, then the
/// coefficients, as JSON.
const RIDGE: &str = r#"
import json, sys
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
data, alpha, intercept, weighted = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1"
X, y, households = california(data)
Xtr, _, ytr, _, wtr, _ = train_test_split(X, y, households, test_size=0.2, random_state=42)
r = Ridge(alpha=alpha, fit_intercept=intercept).fit(Xtr, ytr, sample_weight=wtr if weighted else None)
print(json.dumps([float(r.intercept_)] + [float(c) for c in r.coef_]))
"#;

#[test]
fn ridge_equals_scikit_learns_ridge() {
    let run = Run::new();
    for (alpha, intercept, weighted) in [
        ("1", true, false),
        ("1000", true, false),
        ("10", false, false),
        ("100", true, true),
    ] {
        let mut args = vec!["train", "--alpha", alpha];
        if !intercept {
            args.push("--no-intercept");
        }
        if weighted {
            args.extend(["--weight", "households"]);
        }
        let ours = run.json(&args);
        let flag = |yes: bool| if yes { "1" } else { "0" };
        let theirs: Vec<f64> = reference(RIDGE, &[alpha, flag(intercept), flag(weighted)]);
        let mine: Vec<f64> = std::iter::once(ours["intercept"].as_f64().unwrap())
            .chain(crate::support::floats(&ours["coefficients"]))
            .collect();
        for (i, (a, b)) in mine.iter().zip(&theirs).enumerate() {
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1e-12),
                "alpha {alpha}, intercept {intercept}, weighted {weighted}: parameter {i}: {a} vs {b}"
            );
        }
        // The penalty is recorded; the quantised model and predictions work unchanged; the
        // summary, which is least squares', refuses in one line.
        let record: Value =
            serde_json::from_slice(&std::fs::read(run.artifacts().join("run.json")).unwrap())
                .unwrap();
        assert_eq!(
            record["parameters"]["alpha"].as_f64(),
            Some(alpha.parse().unwrap())
        );
        run.ok(&["quantize"]);
        run.ok(&["predict", "--quantized"]);
        let (code, stderr) = run.fail(&["summary"]);
        assert_eq!(code, 1);
        assert!(stderr.contains("ridge penalty"), "{stderr}");
    }
    // alpha 0 is least squares, byte for byte.
    let plain = run.json(&["train"]);
    let zero = run.json(&["train", "--alpha", "0"]);
    assert_eq!(plain["coefficients"], zero["coefficients"]);
    assert_eq!(zero["bytes"], plain["bytes"]);
    let (code, stderr) = run.fail(&["train", "--alpha=-1"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("alpha -1: the ridge penalty must be a number ≥ 0"),
        "{stderr}"
    );
}

/// `GridSearchCV(Ridge(), {"alpha": …}, cv=KFold(k), scoring="neg_mean_squared_error")` on the
/// seed split's training rows: the chosen alpha, each candidate's mean MSE, and the refitted
/// model's intercept and coefficients.
const GRID_SEARCH: &str = r#"
import json, sys
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, PredefinedSplit, train_test_split
data, alphas, k = sys.argv[1], [float(a) for a in sys.argv[2].split(",")], int(sys.argv[3])
X, y, households = california(data)
Xtr, _, ytr, _ = train_test_split(X, y, test_size=0.2, random_state=42)
cv = KFold(k)
if len(sys.argv) > 4:  # every row, in the hash folds given (a streaming run's)
    Xtr, ytr = X, y
    cv = PredefinedSplit([int(f) for f in open(sys.argv[4]).read().split()])
g = GridSearchCV(Ridge(), {"alpha": alphas}, cv=cv, scoring="neg_mean_squared_error").fit(Xtr, ytr)
best = g.best_estimator_
print(json.dumps({"alpha": g.best_params_["alpha"], "mse": [-s for s in g.cv_results_["mean_test_score"]],
                  "parameters": [float(best.intercept_)] + [float(c) for c in best.coef_]}))
"#;

/// Our `train --alpha auto --json` against [`GRID_SEARCH`]'s answer: the choice, each
/// candidate's mean MSE and the refitted model, to 1e-9.
fn assert_same_search(ours: &Value, theirs: &Value, what: &str) {
    assert_eq!(ours["alpha"], theirs["alpha"], "{what}");
    for (candidate, mse) in ours["alpha_search"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .zip(crate::support::floats(&theirs["mse"]))
    {
        let a = candidate[1].as_f64().unwrap();
        assert!(
            (a - mse).abs() <= 1e-9 * mse,
            "{what}: alpha {}: MSE {a} vs {mse}",
            candidate[0]
        );
    }
    let mine = std::iter::once(ours["intercept"].as_f64().unwrap())
        .chain(crate::support::floats(&ours["coefficients"]));
    for (a, b) in mine.zip(crate::support::floats(&theirs["parameters"])) {
        assert!((a - b).abs() <= 1e-9 * b.abs(), "{what}: {a} vs {b}");
    }
}

#[test]
fn alpha_auto_equals_grid_search_cv() {
    let run = Run::new();
    for (alphas, k) in [("0.01,1,100,1000,10000", "5"), ("3000,30,0.3", "3")] {
        let ours = run.json(&["train", "--alpha", "auto", "--alphas", alphas, "--folds", k]);
        let theirs: Value = reference(GRID_SEARCH, &[alphas, k]);
        assert_same_search(&ours, &theirs, alphas);
    }
    // Streaming: the hash folds of every row (`--test-size 0`: `dataset::hash_fold`'s, the
    // folds of `cv --streaming`), against the same search over the same folds.
    let alphas = "0.1,10,1000,30000";
    let ours = run.json(&[
        "train",
        "--streaming",
        "--test-size",
        "0",
        "--seed",
        "7",
        "--alpha",
        "auto",
        "--alphas",
        alphas,
        "--folds",
        "4",
    ]);
    let rows = std::fs::read_to_string(data_path())
        .unwrap()
        .lines()
        .count() as u64
        - 1;
    let folds: Vec<String> = (2..rows + 2)
        .map(|line| dataset::hash_fold(7, line, 4).to_string())
        .collect();
    let folds_file = run.dir.path().join("folds.txt");
    std::fs::write(&folds_file, folds.join(" ")).unwrap();
    let theirs: Value = reference(GRID_SEARCH, &[alphas, "4", folds_file.to_str().unwrap()]);
    assert_eq!(ours["alpha_search"]["folds"], 4);
    assert_same_search(&ours, &theirs, "streamed");
    // A hash split: the search runs on the training rows' folds, and records its choice.
    let split = run.json(&["train", "--streaming", "--split", "hash", "--alpha", "auto"]);
    assert!(
        split["alpha_search"]["candidates"]
            .as_array()
            .unwrap()
            .len()
            > 1
    );
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(run.artifacts().join("run.json")).unwrap())
            .unwrap();
    assert_eq!(
        record["parameters"]["alpha"].as_f64().unwrap_or(0.0),
        split["alpha"].as_f64().unwrap()
    );
    // Statistics files have no rows to cut into folds.
    let stats = run.dir.path().join("all.stats");
    run.ok(&["stats", "-o", stats.to_str().unwrap()]);
    let (code, stderr) = run.fail(&[
        "train",
        "--from-stats",
        stats.to_str().unwrap(),
        "--alpha",
        "auto",
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not with --from-stats"), "{stderr}");
}

/// statsmodels' `OLS(...).fit(cov_type=kind)` on the seed split's training rows (`ols`, `wls`),
/// or on every row (`ols_all`, `wls_all`: a streaming run that held nothing out), against our
/// summary (argv[2]): the largest relative differences.
const ROBUST: &str = r#"
import json, sys
import pandas as pd, statsmodels.api as sm
from sklearn.model_selection import train_test_split
data, ours, kind, fit = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3], sys.argv[4]
X, y, households = california(data)
Xtr, _, ytr, _, wtr, _ = train_test_split(X, y, households, test_size=0.2, random_state=42)
if fit.endswith("_all"):
    Xtr, ytr, wtr = X, y, households
if fit.startswith("wls"):
    r = sm.WLS(ytr, sm.add_constant(Xtr), weights=wtr).fit(cov_type=kind)
else:
    r = sm.OLS(ytr, sm.add_constant(Xtr)).fit(cov_type=kind)
rel = lambda a, b: abs(a - b) / max(abs(b), 1e-300)
tiny = lambda a, b: a < 1e-300 and b < 1e-300
ci = r.conf_int(ours["alpha"]).to_numpy()
worst = {"std_err": 0.0, "t": 0.0, "ci": 0.0, "p_value": 0.0}
for i, e in enumerate(ours["estimates"]):
    worst["std_err"] = max(worst["std_err"], rel(e["std_err"], r.bse.iloc[i]))
    worst["t"] = max(worst["t"], rel(e["t"], r.tvalues.iloc[i]))
    worst["ci"] = max(worst["ci"], rel(e["ci_lower"], ci[i, 0]), rel(e["ci_upper"], ci[i, 1]))
    if not tiny(e["p_value"], r.pvalues.iloc[i]):
        worst["p_value"] = max(worst["p_value"], rel(e["p_value"], r.pvalues.iloc[i]))
worst["f_statistic"] = rel(ours["f_statistic"], r.fvalue)
worst["f_p_value"] = 0.0 if tiny(ours["f_p_value"], r.f_pvalue) else rel(ours["f_p_value"], r.f_pvalue)
print(json.dumps(worst))
"#;

#[test]
fn robust_covariances_equal_statsmodels_cov_type() {
    let run = Run::new();
    for (fit, kind) in [
        ("ols", "HC0"),
        ("ols", "HC1"),
        ("ols", "HC2"),
        ("ols", "HC3"),
        ("wls", "HC0"),
        ("wls", "HC3"),
    ] {
        if fit == "wls" {
            run.ok(&["train", "--weight", "households"]);
        } else {
            run.ok(&["train"]);
        }
        // The weights come from the training run's record, not this command's options.
        let summary = run.json(&["summary", "--cov-type", kind]);
        assert_eq!(summary["cov_type"], kind);
        let file = run.dir.path().join("robust.json");
        std::fs::write(&file, summary.to_string()).unwrap();
        let worst: Value = reference(ROBUST, &[file.to_str().unwrap(), kind, fit]);
        assert_within(
            &serde_json::json!({ "worst": worst }),
            &format!("{fit} {kind}"),
        );
    }
    let text = run.ok(&["summary", "--cov-type", "HC1"]);
    assert!(
        text.contains("Covariance Type:                   HC1"),
        "{text}"
    );
    assert!(text.contains("P>|z|"), "{text}");
}

/// After streaming, the second pass streams the training rows again: a run that held nothing
/// out against statsmodels on every row; a hash split's against the in-memory figures of the
/// same rows (written out by a pass of our own over the hash split); statistics files have no
/// rows to read, and say so.
#[test]
fn robust_covariances_after_streaming_read_the_rows_again() {
    let run = Run::new();
    for (fit, kind, train) in [
        (
            "ols_all",
            "HC0",
            &["train", "--streaming", "--test-size", "0"][..],
        ),
        (
            "ols_all",
            "HC3",
            &["train", "--streaming", "--test-size", "0"][..],
        ),
        (
            "wls_all",
            "HC2",
            &[
                "train",
                "--streaming",
                "--test-size",
                "0",
                "--weight",
                "households",
            ][..],
        ),
    ] {
        run.ok(train);
        let summary = run.json(&["summary", "--cov-type", kind]);
        let file = run.dir.path().join("robust.json");
        std::fs::write(&file, summary.to_string()).unwrap();
        let worst: Value = reference(ROBUST, &[file.to_str().unwrap(), kind, fit]);
        assert_within(
            &serde_json::json!({ "worst": worst }),
            &format!("streamed {fit} {kind}"),
        );
    }
    // A hash split: its training rows (by the same hash, from dataset's own function) written
    // to a file and trained in memory on all of it give the same HC1 figures.
    let data = std::fs::read_to_string(data_path()).unwrap();
    let mut kept = String::new();
    for (i, line) in data.lines().enumerate() {
        // The header is line 1.
        if i == 0 || !dataset::hash_is_test(42, i as u64 + 1, 0.2) {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    let train_rows = run.dir.path().join("train_rows.csv");
    std::fs::write(&train_rows, kept).unwrap();
    run.ok(&["train", "--streaming", "--split", "hash"]);
    let streamed = run.json(&["summary", "--cov-type", "HC1"]);
    let (code, stderr) = run.fail(&[
        "summary",
        "--cov-type",
        "HC1",
        "--data",
        train_rows.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("differs from the data the model was trained on"),
        "{stderr}"
    );
    let in_memory = Run::new();
    in_memory.ok(&[
        "train",
        "--data",
        train_rows.to_str().unwrap(),
        "--test-size",
        "0",
    ]);
    // The second pass must read the rows trained on: another table is refused.
    let (code, stderr) = in_memory.fail(&["summary", "--cov-type", "HC1"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("differs from the data the model was trained on")
            && stderr.contains("pass --data with the table the model was trained on"),
        "{stderr}"
    );
    let reference = in_memory.json(&[
        "summary",
        "--cov-type",
        "HC1",
        "--data",
        train_rows.to_str().unwrap(),
    ]);
    for (a, b) in streamed["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .zip(reference["estimates"].as_array().unwrap())
    {
        for key in ["coef", "std_err"] {
            let (a, b) = (a[key].as_f64().unwrap(), b[key].as_f64().unwrap());
            assert!((a - b).abs() <= 1e-9 * b.abs(), "{key}: {a} vs {b}");
        }
    }
    // Statistics files: no rows to read again.
    let stats = run.dir.path().join("all.stats");
    run.ok(&["stats", "-o", stats.to_str().unwrap()]);
    run.ok(&["train", "--from-stats", stats.to_str().unwrap()]);
    let (code, stderr) = run.fail(&["summary", "--cov-type", "HC0"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("a fit from statistics files has none"),
        "{stderr}"
    );
}

/// `cv --streaming` against a second method: the same hash folds (`dataset::hash_fold` of each
/// row's line: the header is line 1), each fold's model fitted on the other folds' rows in
/// memory and scored on its rows, to 1e-9.
#[test]
fn streaming_cv_equals_fits_and_scores_of_the_rows() {
    use linreg::{LinearRegression, Metrics};

    let run = Run::new();
    let ours = run.json(&["cv", "--streaming", "--folds", "4", "--seed", "9"]);
    assert!(ours["mean"]["mae"].is_null() && ours["folds"][0]["mae"].is_null());
    let options = pipeline::DataOptions {
        path: Some(data_path()),
        spec: dataset::Spec::default(),
    };
    let table = dataset::load(&options.locate().unwrap(), &options.spec).unwrap();
    let n = table.n_rows();
    for (f, fold) in ours["folds"].as_array().unwrap().iter().enumerate() {
        let (test, train): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&r| dataset::hash_fold(9, r as u64 + 2, 4) == f);
        assert_eq!(fold["test_rows"], test.len() as u64);
        assert_eq!(fold["train_rows"], train.len() as u64);
        let model = LinearRegression::new()
            .fit_rows(&table.x, &table.y, &train)
            .unwrap();
        let (x, y) = table.select(&test);
        let predicted = model.predict(&x).unwrap();
        let m = Metrics::compute_weighted(y.as_slice(), predicted.as_slice(), None).unwrap();
        for (key, reference) in [("r2", m.r2), ("rmse", m.rmse)] {
            let value = fold[key].as_f64().unwrap();
            assert!(
                (value - reference).abs() <= 1e-9 * reference.abs(),
                "fold {f}: {key} {value} vs {reference}"
            );
        }
    }
}

#[test]
fn prediction_intervals_equal_statsmodels_get_prediction() {
    for (kind, train) in [
        ("ols", &["train"][..]),
        ("wls", &["train", "--weight", "households"][..]),
        ("noconst", &["train", "--no-intercept"][..]),
    ] {
        let run = Run::new();
        run.ok(train);
        let out = run.dir.path().join("intervals.csv");
        let data = data_path();
        run.ok(&[
            "predict",
            "--input",
            data.to_str().unwrap(),
            "--interval",
            "0.9",
            "-o",
            out.to_str().unwrap(),
        ]);
        // statsmodels' `get_prediction(X).summary_frame(alpha)` of every row for the same fit:
        // the script docs/ACCURACY.md measures with (the ends relative to the larger of their
        // value and the half-width: an end near 0 is the difference of two close numbers).
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/compare/prediction_intervals.py");
        let script = std::fs::read_to_string(script).unwrap();
        let worst: Value = serde_json::from_slice(&run_python(
            &script,
            &[data.to_str().unwrap(), out.to_str().unwrap(), kind, "0.9"],
        ))
        .unwrap();
        for (column, worst) in worst.as_object().unwrap() {
            let worst = worst.as_f64().unwrap();
            assert!(
                worst <= 1e-9,
                "{kind}: {column} differs from statsmodels by {worst:e} relative"
            );
        }
    }
}

/// The quantised model reuses the float model's covariance: the same half-widths around its
/// own predictions; the sample line says the intervals; JSON gives them as columns.
#[test]
fn the_quantised_model_reuses_the_float_models_covariance() {
    let run = Run::new();
    run.ok(&["train"]);
    run.ok(&["quantize"]);
    let float = run.json(&["predict", "--interval", "0.95"]);
    let quantised = run.json(&["predict", "--quantized", "--interval", "0.95"]);
    assert_eq!(quantised["model"], "quantised");
    let column = |v: &Value, k: &str| -> Vec<f64> {
        v["intervals"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let predictions = |v: &Value| -> Vec<f64> {
        v["predictions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let (pf, pq) = (predictions(&float), predictions(&quantised));
    assert_ne!(
        pf, pq,
        "the quantised predictions differ from the float ones"
    );
    for k in ["mean_ci_upper", "obs_ci_upper"] {
        for (i, (f, q)) in column(&float, k)
            .iter()
            .zip(column(&quantised, k))
            .enumerate()
        {
            let (wf, wq) = (f - pf[i], q - pq[i]);
            assert!(
                (wf - wq).abs() <= 1e-12 * wf,
                "{k}[{i}]: half-width {wq} against the float model's {wf}"
            );
        }
    }
    assert_eq!(float["intervals"]["level"], 0.95);
    let text = run.ok(&["predict", "--quantized", "--interval", "0.9", "--summary"]);
    assert!(text.contains("\n90% prediction intervals: ["), "{text}");
    // Without the float model beside it, the quantised model has no intervals, and says why
    // in one line; it still predicts without them.
    std::fs::remove_file(run.artifacts().join("linear_model.msgpack")).unwrap();
    let (code, err) = run.fail(&["predict", "--quantized", "--interval", "0.9"]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim_end(),
        "error: a quantised model carries no covariance of its own: its intervals reuse the float model it was quantised from, which was not found"
    );
    run.ok(&["predict", "--quantized"]);
}

/// Bad levels are one line each, and a ridge model has no intervals.
#[test]
fn interval_levels_outside_zero_to_one_and_ridge_models_are_refused() {
    let run = Run::new();
    run.ok(&["train", "--alpha", "1"]);
    for bad in ["0", "1", "-0.1", "95", "nan"] {
        let (code, err) = run.fail(&["predict", &format!("--interval={bad}")]);
        assert_eq!(code, 1, "{bad}");
        assert_eq!(err.lines().count(), 1, "{bad}: {err}");
        assert!(
            err.contains("must lie strictly between 0 and 1"),
            "{bad}: {err}"
        );
    }
    let (code, err) = run.fail(&["predict", "--interval", "0.95"]);
    assert_eq!(code, 1);
    assert!(err.contains("ridge penalty (alpha 1)"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
