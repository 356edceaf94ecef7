//! The library's figures on the seed split against scikit-learn's (`LinearRegression` on
//! `train_test_split(test_size=0.2, random_state=42)`), and the quantised models.

use approx::assert_relative_eq;
use dataset::{Spec, Table, load_path, train_test_split};
use linreg::{LinearRegression, Metrics, Model, OriginalScheme, QuantizedModel};
use nalgebra::{DMatrix, DVector};

use crate::support::{SKLEARN_COEF, SKLEARN_INTERCEPT, data_path};

struct Seed {
    model: Model,
    x_test: DMatrix<f64>,
    y_test: DVector<f64>,
}

fn seed_split(seed: u64, test_size: f64) -> Seed {
    let table: Table = load_path(&data_path(), &Spec::default()).unwrap();
    let split = train_test_split(table.n_rows(), test_size, seed).unwrap();
    let (x, y) = table.select(&split.train);
    let (x_test, y_test) = table.select(&split.test);
    let model = LinearRegression::new()
        .recipe(table.recipe.clone())
        .fit(&x, &y)
        .unwrap();
    Seed {
        model,
        x_test,
        y_test,
    }
}

fn round3(v: &[f64]) -> Vec<f64> {
    v.iter().map(|p| (p * 1000.0).round() / 1000.0).collect()
}

#[test]
fn float_model_equals_scikit_learn() {
    let s = seed_split(42, 0.2);
    for (got, want) in s.model.coefficients().iter().zip(SKLEARN_COEF) {
        assert_relative_eq!(*got, want, max_relative = 1e-9);
    }
    assert_relative_eq!(s.model.intercept(), SKLEARN_INTERCEPT, max_relative = 1e-9);
    assert_eq!(s.model.n_train(), 16_512);

    let predicted = s.model.predict(&s.x_test).unwrap();
    let m = Metrics::compute(s.y_test.as_slice(), predicted.as_slice()).unwrap();
    assert_relative_eq!(m.r2, 0.5757877060, epsilon = 1e-9);
    assert_relative_eq!(m.rmse, 0.7455813830, epsilon = 1e-9);
    assert_relative_eq!(m.mae, 0.5332001305, epsilon = 1e-9);
    assert_eq!(
        round3(&predicted.as_slice()[..5]),
        [0.719, 1.764, 2.710, 2.839, 2.605]
    );
}

#[test]
fn another_split_equals_scikit_learn() {
    let s = seed_split(7, 0.25);
    assert_eq!(s.model.n_train(), 15_480);
    let predicted = s.model.predict(&s.x_test).unwrap();
    let m = Metrics::compute(s.y_test.as_slice(), predicted.as_slice()).unwrap();
    assert_relative_eq!(m.r2, 0.6070242241, epsilon = 1e-9);
    assert_relative_eq!(m.rmse, 0.7237078047, epsilon = 1e-9);
}

#[test]
fn our_quantised_model_keeps_r2_within_0_001() {
    let s = seed_split(42, 0.2);
    let q = QuantizedModel::quantize(&s.model).unwrap();
    let predicted = q.predict(&s.x_test).unwrap();
    let m = Metrics::compute(s.y_test.as_slice(), predicted.as_slice()).unwrap();
    assert!(m.r2 >= 0.5748, "R² {}", m.r2);
    assert!(m.rmse <= 0.7465, "RMSE {}", m.rmse);
    // The analytic bound holds on every test row that lies inside the training ranges.
    let float = s.model.predict(&s.x_test).unwrap();
    for r in 0..s.x_test.nrows() {
        let inside = (0..8).all(|j| {
            let v = s.x_test[(r, j)];
            v >= s.model.feature_min()[j] && v <= s.model.feature_max()[j]
        });
        if inside {
            assert!((float[r] - predicted[r]).abs() <= f64::from(q.max_deviation_bound()));
        }
    }
    // Bias correction: on the training rows, the residual mean is zero.
    assert_eq!(q.parameter_bytes(), 8 + 4 + 1 + 8);
}

#[test]
fn original_scheme_reproduces_the_python_figures() {
    let s = seed_split(42, 0.2);
    let o = OriginalScheme::quantize(&s.model);
    let predicted = o.predict(&s.x_test).unwrap();
    let m = Metrics::compute(s.y_test.as_slice(), predicted.as_slice()).unwrap();
    assert_eq!((m.r2 * 1e4).round() / 1e4, 0.4854, "R² {}", m.r2);
    assert_eq!((m.rmse * 1e4).round() / 1e4, 0.8212, "RMSE {}", m.rmse);
    assert_eq!(
        round3(&predicted.as_slice()[..5]),
        [0.983, 2.063, 2.962, 3.163, 2.806]
    );
    assert_eq!(o.parameter_bytes(), 81);
}

/// The split against scikit-learn's own `train_test_split` (the venv's), rows and all: sizes
/// and fractions where rounding decides (0.07 of 100 rows is 8 test rows and 92 training
/// rows), and those it refuses (a training set left empty).
#[test]
fn splits_equal_scikit_learns_train_test_split() {
    use crate::support::{python, with_stdin};

    let mut cases = Vec::new();
    for n in [1_usize, 2, 3, 7, 10, 100, 1000, 20_640] {
        for t in [1e-300, 0.07, 0.1, 0.2, 0.25, 0.3, 0.33, 0.5, 0.8, 0.99] {
            for seed in [0_u64, 42] {
                cases.push((n, t, seed));
            }
        }
    }
    let script = r#"
import json, sys
import numpy as np
from sklearn.model_selection import train_test_split
out = []
for n, t, seed in json.load(sys.stdin):
    try:
        train, test = train_test_split(np.arange(n), test_size=t, random_state=seed)
        out.append([train.tolist(), test.tolist()])
    except ValueError:
        out.append(None)
print(json.dumps(out))
"#;
    let input = serde_json::to_vec(&cases).unwrap();
    let out = with_stdin(
        std::process::Command::new(python()).args(["-c", script]),
        &input,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Vec<Option<(Vec<usize>, Vec<usize>)>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(want.len(), cases.len());
    let mut refused = 0;
    for (&(n, t, seed), want) in cases.iter().zip(want) {
        let got = train_test_split(n, t, seed).ok().map(|s| (s.train, s.test));
        refused += usize::from(want.is_none());
        assert_eq!(got, want, "n = {n}, test_size = {t:?}, seed = {seed}");
    }
    assert!((1..cases.len() / 4).contains(&refused), "{refused} refused");
}
