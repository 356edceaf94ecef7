//! The solver against an independent reference (nalgebra's SVD least squares),
//! its invariances, and its failures.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use approx::assert_relative_eq;
use linreg::{Error, LinearRegression, Model, QuantizedModel, Recipe, SufficientStats, envelope};
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;

mod nist;

/// Least squares with an intercept column, by SVD: the reference.
/// Least squares with an intercept by nalgebra's SVD of the centred columns (as scikit-learn
/// centres before LAPACK's): the intercept is then the means' residual. (Uncentred, a column far
/// from zero beside the column of ones left the SVD's slopes 1e-5 off zero where y is constant.)
fn svd_reference(x: &DMatrix<f64>, y: &DVector<f64>) -> (Vec<f64>, f64) {
    let (n, p) = x.shape();
    let means: Vec<f64> = (0..p).map(|c| x.column(c).mean()).collect();
    let a = DMatrix::from_fn(n, p, |r, c| x[(r, c)] - means[c]);
    let centred = y.add_scalar(-y.mean());
    let beta = a.svd(true, true).solve(&centred, 1e-14).expect("svd solve");
    let intercept = y.mean() - (0..p).map(|c| means[c] * beta[c]).sum::<f64>();
    (beta.as_slice().to_vec(), intercept)
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    let scale = b.iter().fold(1e-300_f64, |m, v| m.max(v.abs()));
    a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol * scale)
}

fn named(p: usize) -> LinearRegression {
    let names: Vec<String> = (0..p).map(|j| format!("f{j}")).collect();
    LinearRegression::new().recipe(Recipe::identity(&names, "y"))
}

prop_compose! {
    /// A well-conditioned problem: uniform features of mixed scales, known weights, some noise.
    fn problem()(p in 1usize..6, extra in 5usize..60)
        (values in prop::collection::vec(-1.0_f64..1.0, (p + 1 + extra) * p),
         noise in prop::collection::vec(-0.1_f64..0.1, p + 1 + extra),
         weights in prop::collection::vec(-3.0_f64..3.0, p),
         scales in prop::collection::vec(0.01_f64..1000.0, p),
         offsets in prop::collection::vec(-1e3_f64..1e3, p),
         intercept in -10.0_f64..10.0,
         p in Just(p))
        -> (DMatrix<f64>, DVector<f64>, Vec<f64>, f64)
    {
        let n = noise.len();
        // A fixed sawtooth per column (shifted by column) keeps every column varying and the
        // columns independent, even where the random part shrinks to zero.
        let spread = |r: usize, c: usize| ((r * 7 + c * 3) % 11) as f64 / 11.0 - 0.5;
        let x = DMatrix::from_fn(n, p, |r, c| (values[r * p + c] + spread(r, c)) * scales[c] + offsets[c]);
        let y = DVector::from_fn(n, |r, _| {
            (0..p).map(|c| x[(r, c)] * weights[c]).sum::<f64>() + intercept + noise[r]
        });
        (x, y, weights, intercept)
    }
}

fn stats_of(x: &DMatrix<f64>, y: &DVector<f64>, rows: std::ops::Range<usize>) -> SufficientStats {
    let mut s = SufficientStats::new(x.ncols()).unwrap();
    for r in rows {
        let row: Vec<f64> = x.row(r).iter().copied().collect();
        s.push(&row, y[r], 1.0).unwrap();
    }
    s
}

fn std_dev(v: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = v.clone().count() as f64;
    let mean = v.clone().sum::<f64>() / n;
    (v.map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
}

/// Agreement to `tol` relative to each coefficient's natural scale: the larger of the largest
/// reference coefficient and rms(y) / std(x_j), the weight at which x_j would move y by its own
/// size. (Where y is constant or a column barely varies, a coefficient is zero up to rounding,
/// and only this scale says how much rounding is fair, for either method.)
fn agrees(x: &DMatrix<f64>, y: &DVector<f64>, got: &[f64], want: &[f64], tol: f64) -> bool {
    let largest = want.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let sy = (y.iter().map(|v| v * v).sum::<f64>() / y.len() as f64).sqrt();
    got.iter().zip(want).enumerate().all(|(j, (a, b))| {
        let scale = largest.max(sy / std_dev(x.column(j).iter().copied()));
        (a - b).abs() <= tol * scale
    })
}

/// The intercept's natural scale: its own size, y's size, and what the coefficients' scale
/// times the columns' means can move it by.
fn intercept_agrees(
    x: &DMatrix<f64>,
    y: &DVector<f64>,
    got: f64,
    want: f64,
    coef: &[f64],
    tol: f64,
) -> bool {
    let largest = coef.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let ry = (y.iter().map(|v| v * v).sum::<f64>() / y.len() as f64).sqrt();
    let moved: f64 = (0..x.ncols())
        .map(|j| {
            let col = x.column(j);
            let mean = col.iter().sum::<f64>() / col.len() as f64;
            mean.abs() * largest.max(ry / std_dev(col.iter().copied()))
        })
        .sum();
    (got - want).abs() <= tol * (want.abs() + ry + moved)
}

proptest! {
    #[test]
    fn agrees_with_svd_least_squares((x, y, _, _) in problem()) {
        let m = LinearRegression::default().fit(&x, &y).unwrap();
        let (coef, intercept) = svd_reference(&x, &y);
        prop_assert!(agrees(&x, &y, m.coefficients(), &coef, 1e-9), "{:?} vs {:?}", m.coefficients(), coef);
        prop_assert!(intercept_agrees(&x, &y, m.intercept(), intercept, &coef, 1e-9), "{} vs {intercept}", m.intercept());
    }

    #[test]
    fn noiseless_data_is_recovered((x, _, w, b) in problem()) {
        let y = DVector::from_fn(x.nrows(), |r, _| (0..x.ncols()).map(|c| x[(r, c)] * w[c]).sum::<f64>() + b);
        let m = LinearRegression::default().fit(&x, &y).unwrap();
        prop_assert!(close(m.coefficients(), &w, 1e-10), "{:?} vs {:?}", m.coefficients(), w);
        prop_assert!(intercept_agrees(&x, &y, m.intercept(), b, &w, 1e-10), "{} vs {b}", m.intercept());
    }

    #[test]
    fn merge_of_any_split_equals_one_pass((x, y, _, _) in problem(), a in 0.0_f64..1.0, b in 0.0_f64..1.0) {
        let n = x.nrows();
        let (i, j) = {
            let (i, j) = ((a * n as f64) as usize, (b * n as f64) as usize);
            (i.min(j), i.max(j))
        };
        let whole = LinearRegression::default().fit(&x, &y).unwrap();
        let mut merged = stats_of(&x, &y, 0..i);
        merged.merge(&stats_of(&x, &y, i..j)).unwrap();
        merged.merge(&stats_of(&x, &y, j..n)).unwrap();
        let m = LinearRegression::default().fit_stats(&merged).unwrap();
        prop_assert!(agrees(&x, &y, m.coefficients(), whole.coefficients(), 1e-12));
        prop_assert!(intercept_agrees(&x, &y, m.intercept(), whole.intercept(), whole.coefficients(), 1e-12));
        prop_assert_eq!(m.feature_min(), whole.feature_min());
        prop_assert_eq!(m.feature_max(), whole.feature_max());
    }

    #[test]
    fn row_order_does_not_matter((x, y, _, _) in problem(), seed in any::<u64>()) {
        let n = x.nrows();
        let mut order: Vec<usize> = (0..n).collect();
        let mut state = seed | 1;
        for i in (1..n).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let xs = DMatrix::from_fn(n, x.ncols(), |r, c| x[(order[r], c)]);
        let ys = DVector::from_fn(n, |r, _| y[order[r]]);
        let a = LinearRegression::default().fit(&x, &y).unwrap();
        let b = LinearRegression::default().fit(&xs, &ys).unwrap();
        prop_assert!(agrees(&x, &y, a.coefficients(), b.coefficients(), 1e-12));
        prop_assert!(intercept_agrees(&x, &y, b.intercept(), a.intercept(), a.coefficients(), 1e-12));
    }

    #[test]
    fn shifting_a_feature_changes_only_the_intercept((x, y, _, _) in problem(), col in any::<prop::sample::Index>()) {
        let c = col.index(x.ncols());
        let mut shifted = x.clone();
        shifted.column_mut(c).add_scalar_mut(1e6);
        let a = LinearRegression::default().fit(&x, &y).unwrap();
        let b = LinearRegression::default().fit(&shifted, &y).unwrap();
        // The shifted data itself carries only ~1e-10 absolute precision per value.
        prop_assert!(agrees(&x, &y, b.coefficients(), a.coefficients(), 1e-7), "{:?} vs {:?}", b.coefficients(), a.coefficients());
        let expected = a.intercept() - 1e6 * a.coefficients()[c];
        prop_assert!((b.intercept() - expected).abs() <= 1e-7 * expected.abs().max(1.0));
    }
}

#[test]
fn wide_tables_take_the_general_path() {
    // 20 features: wider than the widths with a compiled copy of the accumulation loop.
    let (n, p) = (300, 20);
    let mut state = 7_u64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let x = DMatrix::from_fn(n, p, |_, c| next() * (c as f64 + 1.0) + c as f64 * 100.0);
    let y = DVector::from_fn(n, |r, _| {
        (0..p).map(|c| x[(r, c)] * (c as f64 - 9.5)).sum::<f64>() + next()
    });
    let m = LinearRegression::default().fit(&x, &y).unwrap();
    let (coef, intercept) = svd_reference(&x, &y);
    assert!(
        close(m.coefficients(), &coef, 1e-9),
        "{:?} vs {coef:?}",
        m.coefficients()
    );
    assert_relative_eq!(m.intercept(), intercept, max_relative = 1e-9);
}

#[test]
fn no_features_is_an_error() {
    let err = LinearRegression::default()
        .fit(&DMatrix::zeros(5, 0), &DVector::from_element(5, 1.0))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Shape {
                expected: 1,
                got: 0,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn zero_weight_is_the_fit_without_the_row() {
    let x = DMatrix::from_row_slice(
        6,
        2,
        &[
            1.0, 2.0, 2.0, 1.0, 3.0, 5.0, 4.0, 3.0, 5.0, 8.0, 100.0, -40.0,
        ],
    );
    let y = DVector::from_vec(vec![1.0, 2.0, 4.0, 3.0, 7.0, 1000.0]);
    let w = DVector::from_vec(vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
    let weighted = LinearRegression::default()
        .fit_weighted(&x, &y, Some(&w))
        .unwrap();
    // The same weighted pass over the other rows: the same bits.
    let (x5, y5) = (x.rows(0, 5).into_owned(), y.rows(0, 5).into_owned());
    let dropped = LinearRegression::default()
        .fit_weighted(&x5, &y5, Some(&DVector::from_element(5, 1.0)))
        .unwrap();
    assert_eq!(weighted.coefficients(), dropped.coefficients());
    assert_eq!(weighted.intercept(), dropped.intercept());
    assert_eq!(weighted.n_train(), 5);
    // And the unweighted fit of those rows, whose pass adds up in another order (eight rows side
    // by side): the same figures to rounding.
    let unweighted = LinearRegression::default().fit(&x5, &y5).unwrap();
    let near = |a: f64, b: f64| (a - b).abs() <= 1e-14 * b.abs();
    for (w, u) in weighted
        .coefficients()
        .iter()
        .zip(unweighted.coefficients())
    {
        assert!(near(*w, *u), "{w} against {u}");
    }
    assert!(near(weighted.intercept(), unweighted.intercept()));
}

#[test]
fn weights_agree_with_repeated_rows() {
    let x = DMatrix::from_row_slice(5, 1, &[1.0, 2.0, 3.0, 4.0, 6.0]);
    let y = DVector::from_vec(vec![2.0, 3.5, 3.0, 6.0, 7.0]);
    let w = DVector::from_vec(vec![1.0, 2.0, 1.0, 3.0, 1.0]);
    let weighted = LinearRegression::default()
        .fit_weighted(&x, &y, Some(&w))
        .unwrap();
    let xr = DMatrix::from_row_slice(8, 1, &[1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 4.0, 6.0]);
    let yr = DVector::from_vec(vec![2.0, 3.5, 3.5, 3.0, 6.0, 6.0, 6.0, 7.0]);
    let repeated = LinearRegression::default().fit(&xr, &yr).unwrap();
    assert_relative_eq!(
        weighted.coefficients()[0],
        repeated.coefficients()[0],
        max_relative = 1e-12
    );
    assert_relative_eq!(
        weighted.intercept(),
        repeated.intercept(),
        max_relative = 1e-12
    );
}

#[test]
fn without_intercept_matches_svd_through_the_origin() {
    let x = DMatrix::from_row_slice(4, 2, &[1.0, 0.5, 2.0, 1.0, 3.0, 2.5, 4.0, 1.0]);
    let y = DVector::from_vec(vec![1.0, 2.5, 3.0, 4.5]);
    let m = LinearRegression::new()
        .fit_intercept(false)
        .fit(&x, &y)
        .unwrap();
    let reference = x.clone().svd(true, true).solve(&y, 1e-14).unwrap();
    assert!(close(m.coefficients(), reference.as_slice(), 1e-12));
    assert_eq!(m.intercept(), 0.0);
}

#[test]
fn constant_column_is_named() {
    let x = DMatrix::from_row_slice(4, 2, &[1.0, 7.0, 2.0, 7.0, 3.0, 7.0, 5.0, 7.0]);
    let y = DVector::from_vec(vec![1.0, 2.0, 3.0, 4.0]);
    let err = named(2).fit(&x, &y).unwrap_err();
    assert!(
        matches!(&err, Error::ConstantFeature(f) if f == "f1"),
        "{err}"
    );
    assert_eq!(err.to_string(), "feature f1 is constant");
}

#[test]
fn duplicated_column_is_named() {
    let x = DMatrix::from_row_slice(
        5,
        3,
        &[
            1.0, 4.0, 1.0, 2.0, 3.0, 2.0, 3.0, 9.0, 3.0, 5.0, 1.0, 5.0, 8.0, 2.0, 8.0,
        ],
    );
    let y = DVector::from_vec(vec![1.0, 2.0, 3.0, 4.0, 9.0]);
    let err = named(3).fit(&x, &y).unwrap_err();
    assert!(
        matches!(&err, Error::Collinear { features, .. } if features == &["f0", "f2"]),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("features f0 and f2 are collinear"),
        "{err}"
    );
}

#[test]
fn a_linear_combination_is_named() {
    // f2 = f0 + 2·f1.
    let rows = [
        [1.0, 2.0],
        [2.0, 0.5],
        [3.0, 3.0],
        [0.5, 1.0],
        [4.0, 2.5],
        [2.5, 2.0],
    ];
    let x = DMatrix::from_fn(6, 3, |r, c| {
        if c < 2 {
            rows[r][c]
        } else {
            rows[r][0] + 2.0 * rows[r][1]
        }
    });
    let y = DVector::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 7.0]);
    let err = named(3).fit(&x, &y).unwrap_err();
    assert!(
        matches!(&err, Error::Collinear { features, .. } if features == &["f0", "f1", "f2"]),
        "{err}"
    );
}

#[test]
fn fewer_rows_than_parameters() {
    let x = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 3.0, 5.0]);
    let y = DVector::from_vec(vec![1.0, 2.0]);
    let err = named(2).fit(&x, &y).unwrap_err();
    assert!(
        matches!(err, Error::TooFewRows { rows: 2, params: 3 }),
        "{err}"
    );
    let err = LinearRegression::default()
        .fit_stats(&SufficientStats::new(1).unwrap())
        .unwrap_err();
    assert!(matches!(err, Error::TooFewRows { rows: 0, .. }), "{err}");
}

#[test]
fn nan_in_the_input() {
    let x = DMatrix::from_row_slice(3, 1, &[1.0, f64::NAN, 3.0]);
    let y = DVector::from_vec(vec![1.0, 2.0, 3.0]);
    let err = named(1).fit(&x, &y).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFinite {
                what: "feature",
                row: 1,
                column: 0,
                ..
            }
        ),
        "{err}"
    );
    let x = DMatrix::from_row_slice(3, 1, &[1.0, 2.0, 3.0]);
    let y = DVector::from_vec(vec![1.0, f64::INFINITY, 3.0]);
    assert!(matches!(
        named(1).fit(&x, &y),
        Err(Error::NonFinite {
            what: "target",
            row: 1,
            ..
        })
    ));
}

#[test]
fn mismatched_lengths() {
    let x = DMatrix::from_row_slice(3, 1, &[1.0, 2.0, 3.0]);
    let y = DVector::from_vec(vec![1.0, 2.0]);
    assert!(matches!(
        named(1).fit(&x, &y),
        Err(Error::Shape {
            expected: 3,
            got: 2,
            ..
        })
    ));
    let w = DVector::from_vec(vec![1.0]);
    let y = DVector::from_vec(vec![1.0, 2.0, 3.0]);
    assert!(matches!(
        named(1).fit_weighted(&x, &y, Some(&w)),
        Err(Error::Shape { .. })
    ));
    let m = named(1).fit(&x, &y).unwrap();
    assert!(matches!(
        m.predict(&DMatrix::zeros(2, 2)),
        Err(Error::Shape {
            expected: 1,
            got: 2,
            ..
        })
    ));
    assert!(matches!(
        stats_of(&x, &y, 0..3).merge(&SufficientStats::new(2).unwrap()),
        Err(Error::Shape {
            expected: 1,
            got: 2,
            ..
        })
    ));
}

fn small_model() -> Model {
    let x = DMatrix::from_row_slice(5, 2, &[1.0, 0.0, 2.0, 1.0, 3.0, 0.0, 4.0, 1.0, 5.0, 3.0]);
    let y = DVector::from_vec(vec![3.0, 6.0, 7.0, 10.0, 14.0]);
    named(2).fit(&x, &y).unwrap()
}

#[test]
fn model_files_round_trip_byte_for_byte() {
    let m = small_model();
    let bytes = envelope::encode(&m).unwrap();
    let back: Model = envelope::decode(&bytes).unwrap();
    assert_eq!(back, m);
    assert_eq!(envelope::encode(&back).unwrap(), bytes);
    let q = QuantizedModel::quantize(&m).unwrap();
    let qb = envelope::encode(&q).unwrap();
    assert_eq!(envelope::decode::<QuantizedModel>(&qb).unwrap(), q);
}

#[test]
fn damaged_model_files_are_refused() {
    let bytes = envelope::encode(&small_model()).unwrap();
    let err = |b: &[u8]| envelope::decode::<Model>(b).unwrap_err().to_string();
    assert_eq!(
        err(&bytes[..4]),
        "truncated: 4 bytes, shorter than the 20-byte header"
    );
    assert!(err(&bytes[..bytes.len() - 3]).starts_with("truncated: payload has"));
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    assert_eq!(err(&flipped), "checksum mismatch: the file is damaged");
    let mut magic = bytes.clone();
    magic[0] = b'X';
    assert_eq!(err(&magic), "not a cali-reg file (wrong magic bytes)");
    let mut newer = bytes.clone();
    newer[8] = 5;
    assert!(err(&newer).starts_with("format version 5 is newer than this build reads (4)"));
    assert_eq!(
        envelope::decode::<QuantizedModel>(&bytes)
            .unwrap_err()
            .to_string(),
        "holds a float model, expected a quantised model"
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(err(&longer), "1 unexpected bytes after the payload");
}

/// A model file made by hand with more features than any fit makes is refused on reading, as
/// by the reader of any model file.
#[test]
fn files_wider_than_a_fit_makes_are_refused() {
    let p = linreg::MAX_FEATURES + 1;
    let names: Vec<String> = (0..p).map(|j| format!("x{j}")).collect();
    // Fields are private: the forged file is made through the model's own serde form.
    let mut forged = serde_json::to_value(small_model()).unwrap();
    forged["recipe"] = serde_json::to_value(linreg::Recipe::identity(&names, "y")).unwrap();
    for key in ["coefficients", "feature_mean", "feature_min", "feature_max"] {
        forged[key] = serde_json::json!(vec![0.5; p]);
    }
    let wide: Model = serde_json::from_value(forged).unwrap();
    let want = "1001 features are more than the 1000 cali-reg fits (its statistics grow with the square of their number)";
    let err = envelope::decode::<Model>(&envelope::encode(&wide).unwrap()).unwrap_err();
    assert_eq!(err.to_string(), want);
    let err = linreg::Predictor::decode(&envelope::encode(&wide).unwrap()).unwrap_err();
    assert_eq!(err.to_string(), want);
}

#[test]
fn every_single_bit_flip_of_the_header_is_refused() {
    // The reserved byte 11 included: the whole header is covered.
    let bytes = envelope::encode(&small_model()).unwrap();
    for i in 0..20 {
        for bit in 0..8 {
            let mut damaged = bytes.clone();
            damaged[i] ^= 1 << bit;
            assert!(
                envelope::decode::<Model>(&damaged).is_err(),
                "byte {i}, bit {bit} went unnoticed"
            );
        }
    }
    let mut reserved = bytes.clone();
    reserved[11] = 0x80;
    assert_eq!(
        envelope::decode::<Model>(&reserved)
            .unwrap_err()
            .to_string(),
        "reserved header byte 11 is 128, not 0: the file is damaged"
    );
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = envelope::decode::<Model>(&bytes);
        let _ = envelope::decode::<QuantizedModel>(&bytes);
    }

    #[test]
    fn decoding_mutated_files_never_panics(at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut bytes = envelope::encode(&small_model()).unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let _ = envelope::decode::<Model>(&bytes);
        // With the checksum fixed up, the payload decoder itself sees the damage.
        let body = bytes[20..].to_vec();
        bytes[16..20].copy_from_slice(&crc32(&body).to_le_bytes());
        let _ = envelope::decode::<Model>(&bytes);
        let n = cut.index(bytes.len());
        let _ = envelope::decode::<Model>(&bytes[..n]);
    }
}

/// CRC-32 (IEEE), bitwise: a second implementation to forge checksums in tests.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0_u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn model_file_errors_are_typed() {
    use linreg::Error;
    let bytes = envelope::encode(&small_model()).unwrap();
    let decode = |b: &[u8]| envelope::decode::<Model>(b).unwrap_err();
    assert!(matches!(decode(b"XALIREG\0rest of it"), Error::BadMagic));
    assert!(matches!(decode(&bytes[..12]), Error::Truncated(_)));
    let mut newer = bytes.clone();
    newer[8] = 7;
    assert!(matches!(
        decode(&newer),
        Error::NewerVersion {
            found: 7,
            supported: 4
        }
    ));
    assert!(matches!(
        envelope::decode::<QuantizedModel>(&bytes).unwrap_err(),
        Error::WrongKind {
            found: "a float model",
            ..
        }
    ));
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(matches!(decode(&flipped), Error::Checksum));
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(decode(&longer), Error::TrailingBytes(1)));
}

#[test]
fn a_predictor_of_either_kind_predicts_as_its_model() {
    use linreg::{AnyModel, Predictor};
    let m = small_model();
    let q = QuantizedModel::quantize(&m).unwrap();
    let float = Predictor::decode(&envelope::encode(&m).unwrap()).unwrap();
    let quant = Predictor::decode(&envelope::encode(&q).unwrap()).unwrap();
    assert!(matches!(float.model(), AnyModel::Float(_)));
    assert!(matches!(quant.model(), AnyModel::Quantized(_)));
    assert_eq!((float.kind(), quant.kind()), ("float", "quantised"));
    let row: Vec<f64> = m.feature_mean().iter().map(|v| v * 1.5 + 0.25).collect();
    assert_eq!(float.predict_row(&row), m.predict_row(&row));
    assert_eq!(quant.predict_row(&row), q.predict_row(&row));
    // A row far outside every training range: one warning per feature.
    let far: Vec<f64> = m
        .feature_max()
        .iter()
        .map(|v| v.abs() * 10.0 + 1.0)
        .collect();
    let mut outside = vec![0; far.len()];
    float.count_outside(&far, &mut outside);
    float.count_outside(&row, &mut outside);
    let warnings = float.range_warnings(&outside);
    assert_eq!(warnings.len(), far.len());
    assert!(warnings.iter().all(|w| w.rows >= 1));
    assert!(
        warnings[0]
            .to_string()
            .contains("outside its training range")
    );
    // A statistics file is neither model.
    let stats = linreg::envelope::ShardStats {
        recipe: m.recipe().clone(),
        stats: linreg::SufficientStats::new(m.coefficients().len()).unwrap(),
        fit_intercept: true,
    };
    let err = Predictor::decode(&envelope::encode(&stats).unwrap()).unwrap_err();
    assert!(matches!(err, linreg::Error::WrongKind { .. }), "{err}");
}

#[test]
fn bias_correction_leaves_no_mean_residual_on_the_training_rows() {
    // Columns far from zero and of unlike scales, where rounding the weights shifts every
    // prediction: the corrected intercept must put the mean residual back at zero.
    let n = 2_000;
    let mut z = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = || {
        z ^= z << 13;
        z ^= z >> 7;
        z ^= z << 17;
        (z >> 11) as f64 / (1u64 << 53) as f64
    };
    let x = DMatrix::from_fn(n, 3, |_, c| match c {
        0 => 37.0 + 4.0 * next(),
        1 => -122.0 + 5.0 * next(),
        _ => 1_000.0 * next(),
    });
    let y = DVector::from_fn(n, |r, _| {
        0.4 * x[(r, 0)] - 0.42 * x[(r, 1)] + 0.002 * x[(r, 2)] + next() - 30.0
    });
    let model = named(3).fit(&x, &y).unwrap();
    let q = QuantizedModel::quantize(&model).unwrap();
    let mean_residual = |predicted: DVector<f64>| (&y - predicted).mean();
    let scale = y.iter().map(|v| v.abs()).sum::<f64>() / n as f64;
    let float = mean_residual(model.predict(&x).unwrap());
    let quantised = mean_residual(q.predict(&x).unwrap());
    assert!(float.abs() <= 1e-12 * scale, "float model: {float}");
    assert!(
        quantised.abs() <= 1e-12 * scale,
        "quantised model: {quantised}"
    );
    // Without the correction the rounding shows: the raw intercept leaves a visible offset.
    let uncorrected = &y - (&x * DVector::from_vec(q.coefficients())).add_scalar(model.intercept());
    assert!(uncorrected.mean().abs() > 1e-6 * scale);
}

/// 10,000 shards (of 1 to 4 rows) merged in shuffled order, and again as a random tree, give the
/// coefficients of the rows accumulated at once, to 1e-12.
#[test]
fn ten_thousand_shards_merge_in_any_order_to_the_same_fit() {
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let p = 4;
    let mut shards = Vec::new();
    let (mut all_x, mut all_y) = (Vec::new(), Vec::new());
    for s in 0..10_000 {
        let rows = 1 + s % 4;
        let mut stats = SufficientStats::new(p).unwrap();
        let x: Vec<f64> = (0..rows * p).map(|_| next() * 20.0 - 10.0).collect();
        let y: Vec<f64> = x
            .chunks(p)
            .map(|r| 1.5 * r[0] - 2.0 * r[1] + 0.5 * r[2] + r[3] + 3.0 + next())
            .collect();
        stats.push_batch(&x, &y, None).unwrap();
        all_x.extend_from_slice(&x);
        all_y.extend_from_slice(&y);
        shards.push(stats);
    }
    let mut once = SufficientStats::new(p).unwrap();
    once.push_batch(&all_x, &all_y, None).unwrap();
    let want = named(p).fit_stats(&once).unwrap();
    // Shuffled order, one after another.
    let mut order: Vec<usize> = (0..shards.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, (next() * (i + 1) as f64) as usize % (i + 1));
    }
    let mut sequential = SufficientStats::new(p).unwrap();
    for &i in &order {
        sequential.merge(&shards[i]).unwrap();
    }
    // A tree: pairs of random neighbours until one is left.
    let mut level: Vec<SufficientStats> = order.iter().map(|&i| shards[i].clone()).collect();
    while level.len() > 1 {
        let mut up = Vec::new();
        for pair in level.chunks(2) {
            let mut merged = pair[0].clone();
            if let Some(other) = pair.get(1) {
                merged.merge(other).unwrap();
            }
            up.push(merged);
        }
        level = up;
    }
    for merged in [&sequential, &level[0]] {
        assert_eq!(merged.rows(), once.rows());
        let got = named(p).fit_stats(merged).unwrap();
        assert!(
            close(got.coefficients(), want.coefficients(), 1e-12),
            "{:?} vs {:?}",
            got.coefficients(),
            want.coefficients()
        );
        assert!((got.intercept() - want.intercept()).abs() <= 1e-12 * want.intercept().abs());
    }
}
