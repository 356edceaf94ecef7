//! Fit on the California-sized problem and accumulation throughput.
#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use linreg::{LinearRegression, SufficientStats};
use nalgebra::{DMatrix, DVector};
use std::hint::black_box;

/// Deterministic pseudo-random rows (SplitMix64), no RNG crate needed.
fn synthetic(rows: usize, features: usize) -> (Vec<f64>, Vec<f64>) {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let x: Vec<f64> = (0..rows * features).map(|_| next() * 10.0 - 5.0).collect();
    let y = x
        .chunks_exact(features)
        .map(|r| r.iter().enumerate().map(|(j, v)| v * j as f64).sum::<f64>() + next())
        .collect();
    (x, y)
}

fn fit(c: &mut Criterion) {
    let (x, y) = synthetic(16_512, 8);
    let x = DMatrix::from_row_slice(16_512, 8, &x);
    let y = DVector::from_vec(y);
    c.bench_function("fit 16512x8", |b| {
        b.iter(|| LinearRegression::default().fit(black_box(&x), black_box(&y)))
    });
}

/// The same problem as Python's fit takes it: the rows pushed in place into sufficient
/// statistics, then solved from them; row-major (a C-ordered array), then column by column (a
/// pandas DataFrame).
fn fit_rows(c: &mut Criterion) {
    let (x, y) = synthetic(16_512, 8);
    c.bench_function("fit 16512x8 rows via statistics", |b| {
        b.iter(|| {
            let mut s = SufficientStats::new(8).expect("8 features");
            s.push_batch(black_box(&x), black_box(&y), None)?;
            LinearRegression::default().fit_stats(&s)
        })
    });
    let columns: Vec<Vec<f64>> = (0..8)
        .map(|j| x.iter().skip(j).step_by(8).copied().collect())
        .collect();
    let columns: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
    c.bench_function("fit 16512x8 columns via statistics", |b| {
        b.iter(|| {
            let mut s = SufficientStats::new(8).expect("8 features");
            s.push_column_slices(black_box(&columns), black_box(&y), None)?;
            LinearRegression::default().fit_stats(&s)
        })
    });
}

/// The inference statistics (`summary`'s figures) of that fit, from its statistics.
fn inference(c: &mut Criterion) {
    let (x, y) = synthetic(16_512, 8);
    let mut stats = SufficientStats::new(8).expect("8 features");
    stats.push_batch(&x, &y, None).expect("finite rows");
    let model = LinearRegression::default()
        .fit_stats(&stats)
        .expect("a fit");
    c.bench_function("inference 16512x8", |b| {
        b.iter(|| linreg::infer(black_box(&stats), black_box(&model), 0.05, false))
    });
}

fn accumulate(c: &mut Criterion) {
    let mut group = c.benchmark_group("accumulate 8 features");
    group.sample_size(10);
    for rows in [1_000_000, 10_000_000] {
        let (x, y) = synthetic(rows, 8);
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rows), &rows, |b, _| {
            b.iter(|| {
                let mut s = SufficientStats::new(8).expect("8 features");
                s.push_batch(black_box(&x), black_box(&y), None)
                    .map(|_| s.rows())
            })
        });
    }
    group.finish();
}

/// Nearly collinear features (the last one is the first plus a little noise): the batches go
/// to double-double accumulation, the price of the digits such data need.
fn accumulate_collinear(c: &mut Criterion) {
    let mut group = c.benchmark_group("accumulate 8 nearly collinear features");
    group.sample_size(10);
    let rows = 1_000_000;
    let (mut x, y) = synthetic(rows, 8);
    for r in 0..rows {
        x[r * 8 + 7] = x[r * 8] + 1e-4 * x[r * 8 + 7];
    }
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function(BenchmarkId::from_parameter(rows), |b| {
        b.iter(|| {
            let mut s = SufficientStats::new(8).expect("8 features");
            s.push_batch(black_box(&x), black_box(&y), None)
                .map(|_| s.extended())
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    fit,
    fit_rows,
    inference,
    accumulate,
    accumulate_collinear
);
criterion_main!(benches);
