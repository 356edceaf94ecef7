//! One-pass, mergeable sufficient statistics for weighted least squares.
//!
//! Rows are taken in batches of 2,048 (`BATCH`). Each batch is shifted by a point near
//! the data (the running mean, or for the first batch its own mean) in one pass, its
//! co-moments come from the shifted rows' products and are corrected to the batch mean, and
//! the batch is merged into the running totals with Chan's parallel update. The passes run in
//! the widest SIMD the CPU has (AVX-512, AVX2, else SSE2), every sum in the same order whatever
//! the instruction set, so the same bits (Rust never fuses a multiply and an add on its own).
//! Up to eight features ([`crate::lanes`]), by columns: eight rows at a time, each sum kept as
//! eight partial sums, the Gram matrix's upper triangle only; a table's rows are copied into
//! columns 64 rows at a time, so rows and a frame's columns give the same bits. Wider, by rows
//! (vectorised across the columns), their products by matrixmultiply's GEMM; a frame's columns
//! copied into rows 64 at a time, again the same bits.
//! No raw, unshifted sums of squares are ever formed, so columns far from zero (latitudes,
//! populations) lose no digits.
//!
//! The totals (weight, means, co-moments) are kept in double-double arithmetic ([`Dd`]), so
//! merging batches and shards adds no rounding of its own. A batch whose columns are nearly
//! collinear (its scaled co-moment matrix has a pivot below 1/[`EXTENDED_ABOVE`]) is
//! accumulated again in double-double, row by row: the normal equations square the condition
//! number, and only such problems need the extra 16 digits to keep up with a QR or SVD solver.
//! A batch of a nearly exact fit (1 − R² below [`NEARLY_EXACT_BELOW`]) with well-conditioned
//! features would lose digits in the other direction: its residual sum of squares, and the
//! coefficients' last digits, are tiny differences of large co-moments. Its target's moments
//! are taken instead from the residuals of the batch's own fit, which carry those digits, and
//! carried back to the target exactly in double-double (`y = r + x·β + b`): one more pass of
//! `p` multiply-adds per row, a step of iterative refinement built into the statistics.
//! Well-conditioned data (California's condition number is 43, its R² 0.6) pay one small
//! Cholesky factorisation per batch.

use nalgebra::{Const, DMatrix, DMatrixView, Dyn};
use recipe::MAX_FEATURES;
use serde::{Deserialize, Serialize};

use crate::double_double::Dd;
use crate::error::{Error, Result, same_len};
use crate::lanes::{self, BLOCK, PassTotals, Table};
use crate::sketch::Sketch;

/// A batch whose features' scaled co-moment matrix has a Cholesky pivot below the inverse of
/// this, so that its condition number is at least this, is accumulated in double-double.
/// California's batches stay below 35.
pub const EXTENDED_ABOVE: f64 = 100.0;

/// A batch whose target its features explain all but this share of (1 − R² of the batch's own
/// fit) has its target's moments taken from the residuals of that fit: otherwise the residual
/// sum of squares, a difference of co-moments, would lose more than five digits.
pub const NEARLY_EXACT_BELOW: f64 = 1e-5;

/// Rows per internal batch: the centred copy (8 columns × 2048 rows × 8 B, 128 KiB) stays in L2.
const BATCH: usize = 2048;

thread_local! {
    /// The shifted rows of a batch ([`SufficientStats::push_batch`]), one buffer per thread and
    /// reused: a fresh one on every push (128 KB for eight features, just past glibc's mmap
    /// threshold) was mapped, faulted in and unmapped each time, most of the page faults of a
    /// streaming training run.
    static SCRATCH: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
    /// A frame's batch copied into rows ([`transpose`]) where the pass does not read its columns
    /// itself (weighted, wider than 16, or a batch that needs more than the one pass), reused
    /// likewise.
    static GATHERED: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Weighted count, means, co-moments and ranges of the features and the target.
///
/// Index `0..p` are the features, index `p` the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SufficientStats {
    n_features: usize,
    rows: u64,
    weight: f64,
    mean: Vec<f64>,
    /// Row-major `(p + 1) × (p + 1)`, symmetric: `Σ w (z − mean)(z − mean)ᵀ`.
    comoment: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
    /// What rounding left out of `weight`, `mean` and `comoment`: their double-double low
    /// parts (absent, so zero, in files written before they were kept).
    #[serde(default)]
    weight_lo: f64,
    #[serde(default)]
    mean_lo: Vec<f64>,
    #[serde(default)]
    comoment_lo: Vec<f64>,
    /// Whether every row was accumulated in double-double.
    #[serde(default)]
    extended: bool,
    /// `Σ ln w` over the rows with a positive weight, in double-double (high, low): the
    /// weighted log-likelihood's term. `None` in files written before it was kept.
    #[serde(default)]
    log_weight: Option<(f64, f64)>,
    /// Each column's [`Sketch`] (the features', then the target's), of every row pushed
    /// whatever its weight, for the training distributions of runs that never hold the rows;
    /// kept when asked for ([`sketched`](Self::sketched)), `None` otherwise and in files
    /// written before they were kept.
    #[serde(default)]
    sketches: Option<Vec<Sketch>>,
}

/// The low part at `i` of a vector of low parts, which may be empty (zeros).
fn low(parts: &[f64], i: usize) -> f64 {
    parts.get(i).copied().unwrap_or(0.0)
}

fn check_finite(what: &'static str, row: usize, column: usize, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFinite {
            what,
            row,
            column,
            value,
        })
    }
}

/// The (weighted) mean of the first batch: the shift that makes a table of one batch exactly
/// centred, whatever the order of its rows. Falls back to the first row when the weights do not
/// sum to a positive number (the batch is then refused or ignored anyway).
fn first_batch_mean(x: Table<'_>, y: &[f64], w: Option<&[f64]>, p: usize) -> Vec<f64> {
    // Unweighted and up to eight features, summed as the pass sums (`lanes`): the same bits from
    // rows and from columns, and a frame's columns read in place.
    macro_rules! in_lanes {
        ($($n:literal)*) => {
            match p {
                $($n => {
                    let (sums, sum_y) = lanes::widest(lanes::ColumnSums::<$n> { x, y });
                    let n = y.len() as f64;
                    return sums.iter().chain([&sum_y]).map(|s| s / n).collect();
                })*
                _ => {}
            }
        };
    }
    if w.is_none() {
        in_lanes!(1 2 3 4 5 6 7 8); // the widths up to `GRAM_IN_PASS`
    }
    let mean = match x {
        Table::Rows(rows) => {
            weighted_mean(rows.chunks_exact(p).map(|r| r.iter().copied()), y, w, p)
        }
        Table::Columns(columns) => weighted_mean(
            (0..y.len()).map(|r| columns.iter().map(move |c| c[r])),
            y,
            w,
            p,
        ),
    };
    mean.unwrap_or_else(|| {
        let first: Vec<f64> = match x {
            Table::Rows(rows) => rows[..p].to_vec(),
            Table::Columns(columns) => columns.iter().map(|c| c[0]).collect(),
        };
        first.into_iter().chain([y[0]]).collect()
    })
}

/// The weighted mean of `rows` (each `p` features) and `y`, in row order; `None` when the
/// weights do not sum to a positive number.
fn weighted_mean(
    rows: impl Iterator<Item = impl Iterator<Item = f64>>,
    y: &[f64],
    w: Option<&[f64]>,
    p: usize,
) -> Option<Vec<f64>> {
    let mut sums = vec![0.0; p + 1];
    let mut total = 0.0;
    for (r, (row, &target)) in rows.zip(y).enumerate() {
        let wr = w.map_or(1.0, |w| w[r]);
        total += wr;
        for (s, v) in sums.iter_mut().zip(row) {
            *s += wr * v;
        }
        sums[p] += wr * target;
    }
    (total > 0.0 && total.is_finite()).then(|| sums.iter().map(|s| s / total).collect())
}

/// Where the unweighted pass adds up: per-column sums of the shifted values, their products
/// with the shifted target, and the ranges. `sums` and `cross` hold the target last.
struct Sums<'a> {
    sums: &'a mut [f64],
    cross: &'a mut [f64],
    min: &'a mut [f64],
    max: &'a mut [f64],
}

/// Up to this many features, the unweighted pass adds up their Gram matrix as well
/// ([`lanes`], eight rows at a time); wider, [`gram_of_rows`] takes them from `scratch`.
const GRAM_IN_PASS: usize = 8;
// `shifted` and `first_batch_mean` dispatch on the literal widths 1 to 8: they change with it.
const _: () = assert!(GRAM_IN_PASS == 8);

/// The unweighted pass: add up `acc` from rows or from columns (at most 16 of them). Up to
/// [`GRAM_IN_PASS`] features, [`lanes`] takes the shifted features' Gram matrix too (returned);
/// wider, the shifted features are written to `scratch` for [`gram_of_rows`], by a pass compiled
/// for that width and the CPU's SIMD, whose sums stay in registers.
fn shifted(
    p: usize,
    x: Table<'_>,
    y: &[f64],
    shift: &[f64],
    scratch: &mut [f64],
    acc: Sums<'_>,
) -> Option<DMatrix<f64>> {
    macro_rules! fixed {
        ($($n:literal)*; $($m:literal)*) => {
            match (p, x) {
                $(($n, x) => {
                    let ranges = acc.ranges::<$n>();
                    let (totals, gram, ranges) =
                        lanes::widest(lanes::Pass::<$n> { x, y, shift, ranges });
                    acc.add(totals, ranges);
                    Some(DMatrix::from_fn($n, $n, |i, j| gram[i][j]))
                })*
                $(($m, x) => pulp::Arch::new().dispatch(Shifted::<$m> { x, y, shift, scratch, acc }),)*
                (_, Table::Rows(x)) => {
                    shifted_rows_any(p, x, y, shift, scratch, acc);
                    None
                }
                (_, Table::Columns(_)) => unreachable!("columns are read in place up to 16, not {p}"),
            }
        };
    }
    // The widths up to `GRAM_IN_PASS`, then the wider ones up to 16.
    fixed!(1 2 3 4 5 6 7 8; 9 10 11 12 13 14 15 16)
}

/// [`shifted`]'s arguments, as pulp's dispatch takes them: `with_simd` is inlined into a copy
/// compiled for each instruction set.
struct Shifted<'a, const P: usize> {
    x: Table<'a>,
    y: &'a [f64],
    shift: &'a [f64],
    scratch: &'a mut [f64],
    acc: Sums<'a>,
}

impl<const P: usize> pulp::WithSimd for Shifted<'_, P> {
    type Output = Option<DMatrix<f64>>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Self::Output {
        let acc = self.acc;
        let mut ranges = acc.ranges::<P>();
        let totals = match self.x {
            Table::Rows(x) => shifted_pass::<P>(
                &mut RowBlocks(x.as_chunks::<P>().0),
                self.y,
                self.shift,
                self.scratch,
                &mut ranges,
            ),
            Table::Columns(columns) => shifted_pass::<P>(
                &mut ColumnBlocks {
                    columns,
                    block: [[0.0; P]; BLOCK],
                },
                self.y,
                self.shift,
                self.scratch,
                &mut ranges,
            ),
        };
        acc.add(totals, ranges);
        None
    }
}

/// Rows `start..end` of `columns` into `block`, row-major. Not inlined into the SIMD pass: there,
/// LLVM would write each row with a scatter.
#[inline(never)]
fn block_of_columns<const P: usize>(
    columns: &[&[f64]],
    (start, end): (usize, usize),
    block: &mut [[f64; P]; BLOCK],
) {
    transpose_fixed::<P>(columns, (start, end), block.as_flattened_mut());
}

impl Sums<'_> {
    /// The ranges so far, as a pass of `P` features takes them.
    fn ranges<const P: usize>(&self) -> ([f64; P], [f64; P]) {
        (
            std::array::from_fn(|i| self.min[i]),
            std::array::from_fn(|i| self.max[i]),
        )
    }

    /// Add a pass's totals and set the ranges it found.
    #[inline(always)]
    fn add<const P: usize>(self, (s, k, sy, yy): PassTotals<P>, (lo, hi): ([f64; P], [f64; P])) {
        for i in 0..P {
            self.sums[i] += s[i];
            self.cross[i] += k[i];
        }
        self.min[..P].copy_from_slice(&lo);
        self.max[..P].copy_from_slice(&hi);
        self.sums[P] += sy;
        self.cross[P] += yy;
    }
}

/// A batch's rows as [`shifted_pass`] reads them, [`BLOCK`] at a time.
trait Blocks<const P: usize> {
    /// Rows `start..end`.
    fn block(&mut self, start: usize, end: usize) -> &[[f64; P]];
}

/// Rows as they are.
struct RowBlocks<'a, const P: usize>(&'a [[f64; P]]);

impl<const P: usize> Blocks<P> for RowBlocks<'_, P> {
    #[inline(always)]
    fn block(&mut self, start: usize, end: usize) -> &[[f64; P]] {
        &self.0[start..end]
    }
}

/// Columns, each block copied into rows that stay in L1 (by plain loads and stores: a row
/// gathered from the columns inside the pass is left in scalar registers by LLVM).
struct ColumnBlocks<'a, const P: usize> {
    columns: &'a [&'a [f64]],
    block: [[f64; P]; BLOCK],
}

impl<const P: usize> Blocks<P> for ColumnBlocks<'_, P> {
    #[inline(always)]
    fn block(&mut self, start: usize, end: usize) -> &[[f64; P]] {
        block_of_columns(self.columns, (start, end), &mut self.block);
        &self.block[..end - start]
    }
}

/// The shifted pass over the rows of a batch (`y.len()` of them), wider than [`GRAM_IN_PASS`]:
/// each written to `scratch` less the shift, their sums, products with the shifted target and
/// ranges added up in blocks of [`BLOCK`] rows. One definition for rows and columns, so that both
/// give the same bits.
#[inline(always)]
fn shifted_pass<const P: usize>(
    rows: &mut impl Blocks<P>,
    y: &[f64],
    shift: &[f64],
    scratch: &mut [f64],
    ranges: &mut ([f64; P], [f64; P]),
) -> PassTotals<P> {
    let c: [f64; P] = std::array::from_fn(|i| shift[i]);
    let ty = shift[P];
    let (mut s, mut k) = ([0.0; P], [0.0; P]);
    let (mut sy, mut yy) = (0.0, 0.0);
    let (mut lo, mut hi) = *ranges;
    let out = scratch.as_chunks_mut::<P>().0;
    for (b, (out, y)) in out.chunks_mut(BLOCK).zip(y.chunks(BLOCK)).enumerate() {
        let (mut bs, mut bk) = ([0.0; P], [0.0; P]);
        let (mut by, mut byy) = (0.0, 0.0);
        let block = rows.block(b * BLOCK, b * BLOCK + y.len());
        for ((z, v), &target) in out.iter_mut().zip(block).zip(y) {
            let zy = target - ty;
            let zc: [f64; P] = std::array::from_fn(|i| v[i] - c[i]);
            *z = zc;
            bs = std::array::from_fn(|i| bs[i] + zc[i]);
            bk = std::array::from_fn(|i| bk[i] + zc[i] * zy);
            by += zy;
            byy += zy * zy;
            for i in 0..P {
                lo[i] = if v[i] < lo[i] { v[i] } else { lo[i] };
                hi[i] = if v[i] > hi[i] { v[i] } else { hi[i] };
            }
        }
        s = std::array::from_fn(|i| s[i] + bs[i]);
        k = std::array::from_fn(|i| k[i] + bk[i]);
        sy += by;
        yy += byy;
    }
    *ranges = (lo, hi);
    (s, k, sy, yy)
}

fn shifted_rows_any(
    p: usize,
    x: &[f64],
    y: &[f64],
    shift: &[f64],
    scratch: &mut [f64],
    acc: Sums<'_>,
) {
    let ty = shift[p];
    for ((z, row), &target) in scratch.chunks_exact_mut(p).zip(x.chunks_exact(p)).zip(y) {
        let zy = target - ty;
        for i in 0..p {
            let v = row[i];
            z[i] = v - shift[i];
            acc.sums[i] += z[i];
            acc.cross[i] += z[i] * zy;
            acc.min[i] = if v < acc.min[i] { v } else { acc.min[i] };
            acc.max[i] = if v > acc.max[i] { v } else { acc.max[i] };
        }
        acc.sums[p] += zy;
        acc.cross[p] += zy * zy;
    }
}

/// How [`SufficientStats::push_unchecked`] left a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pushed {
    /// Merged (or, without weight, ignored).
    Merged,
    /// A NaN or infinity poisoned the sums, or a weight was negative: nothing merged.
    Refused,
    /// Read from columns, the batch is weighted, wider than 16, or needs the extended or
    /// residual treatment, which read rows: nothing merged; push it again as rows.
    AsRows,
}

/// Copy rows `start..end` of `columns` into `rows`, row-major: a frame's batch laid out as
/// [`push_batch`](SufficientStats::push_batch) takes rows, where [`shifted`] does not
/// read it (weighted, wider than 16 columns, or needing more than the one pass). Widths up to 16
/// run a copy compiled for that width.
fn transpose(columns: &[&[f64]], (start, end): (usize, usize), rows: &mut [f64]) {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match columns.len() {
                $($n => transpose_fixed::<$n>(columns, (start, end), rows),)*
                p => {
                    for (r, row) in (start..end).zip(rows.chunks_exact_mut(p)) {
                        for (v, column) in row.iter_mut().zip(columns) {
                            *v = column[r];
                        }
                    }
                }
            }
        };
    }
    fixed!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
}

/// [`transpose`] for `P` columns; not dispatched to the CPU's SIMD, in which LLVM writes each row
/// with a scatter, slower than these plain loads and stores.
fn transpose_fixed<const P: usize>(
    columns: &[&[f64]],
    (start, end): (usize, usize),
    rows: &mut [f64],
) {
    let columns: [&[f64]; P] = std::array::from_fn(|j| &columns[j][start..end]);
    for (r, row) in rows
        .as_chunks_mut::<P>()
        .0
        .iter_mut()
        .enumerate()
        .take(end - start)
    {
        *row = std::array::from_fn(|j| columns[j][r]);
    }
}

/// Refuse a batch with a non-finite value or a negative weight, naming the row (offset by `first_row`).
///
/// `Ok` means every value is finite: a sum that overflowed to infinity on its own is accepted
/// (the solve reports the consequences).
fn check_batch(x: &[f64], y: &[f64], w: Option<&[f64]>, p: usize, first_row: usize) -> Result<()> {
    for (r, &target) in y.iter().enumerate() {
        let row = first_row + r;
        for (c, &v) in x[r * p..(r + 1) * p].iter().enumerate() {
            check_finite("feature", row, c, v)?;
        }
        check_finite("target", row, p, target)?;
        if let Some(w) = w {
            check_finite("weight", row, 0, w[r])?;
            if w[r] < 0.0 {
                return Err(Error::NegativeWeight { row, value: w[r] });
            }
        }
    }
    Ok(())
}

/// The weighted pass: write the shifted features, scaled by √w, to `scratch` and add up `acc`
/// (each product with its weight). Returns the sum of the weights, the rows of positive
/// weight and the smallest weight.
fn weighted_shifted_rows(
    p: usize,
    (x, y, w): (&[f64], &[f64], &[f64]),
    shift: &[f64],
    scratch: &mut [f64],
    acc: Sums<'_>,
) -> (f64, u64, f64) {
    let ty = shift[p];
    let (mut weight, mut rows, mut lightest) = (0.0, 0_u64, 0.0_f64);
    for (r, z) in scratch.chunks_exact_mut(p.max(1)).enumerate().take(y.len()) {
        let row = &x[r * p..(r + 1) * p];
        let (wr, root) = (w[r], w[r].sqrt());
        lightest = lightest.min(wr);
        weight += wr;
        let zy = y[r] - ty;
        // Zero-weight rows add exact zeros, yet a NaN or infinity in them still shows (0 · ∞ = NaN).
        for ((((zc, &v), c), s), k) in z
            .iter_mut()
            .zip(row)
            .zip(shift)
            .zip(acc.sums.iter_mut())
            .zip(acc.cross.iter_mut())
        {
            *s += wr * (v - c);
            *k += wr * (v - c) * zy;
            *zc = root * (v - c);
        }
        acc.sums[p] += wr * zy;
        acc.cross[p] += wr * zy * zy;
        if wr != 0.0 {
            rows += 1;
            for ((&v, lo), hi) in row.iter().zip(acc.min.iter_mut()).zip(acc.max.iter_mut()) {
                *lo = lo.min(v);
                *hi = hi.max(v);
            }
        }
    }
    (weight, rows, lightest)
}

/// `Σ z zᵀ` of the rows `z` of `scratch` (row-major, `p` wide). Up to eight columns,
/// the products are added up row after row in registers, in the widest SIMD the CPU has (each
/// entry's sum in the same order on every machine: no fused multiply-add, so the same bits);
/// wider, by one GEMM (matrixmultiply), whose blocking pays there.
fn gram_of_rows(scratch: &[f64], p: usize) -> DMatrix<f64> {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match p {
                $($n => return gram_fixed::<$n>(scratch),)*
                _ => {}
            }
        };
    }
    fixed!(1 2 3 4 5 6 7 8);
    let n = scratch.len() / p.max(1);
    // The buffer read as p × n (a column per row) times n × p.
    let zt =
        DMatrixView::from_slice_with_strides_generic(scratch, Dyn(p), Dyn(n), Const::<1>, Dyn(p));
    let z =
        DMatrixView::from_slice_with_strides_generic(scratch, Dyn(n), Dyn(p), Dyn(p), Const::<1>);
    let mut gram = DMatrix::<f64>::zeros(p, p);
    gram.gemm(1.0, &zt, &z, 0.0);
    gram
}

fn gram_fixed<const P: usize>(scratch: &[f64]) -> DMatrix<f64> {
    let g = pulp::Arch::new().dispatch(GramRows::<P>(scratch.as_chunks::<P>().0));
    DMatrix::from_fn(P, P, |i, j| g[i][j])
}

/// The rows [`gram_fixed`] adds up, as pulp's dispatch takes them: `with_simd` is inlined into
/// a copy compiled for each instruction set (a closure would not be).
struct GramRows<'a, const P: usize>(&'a [[f64; P]]);

impl<const P: usize> pulp::WithSimd for GramRows<'_, P> {
    type Output = [[f64; P]; P];

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Self::Output {
        let mut g = [[0.0; P]; P];
        // Summed in blocks of `BLOCK` rows, each block's sum then added to the total: the
        // rounding error of a sum grows with the terms added in one run (2,048 in a batch).
        for block in self.0.chunks(BLOCK) {
            let mut b = [[0.0; P]; P];
            for z in block {
                for i in 0..P {
                    for j in 0..P {
                        b[i][j] += z[i] * z[j];
                    }
                }
            }
            for i in 0..P {
                for j in 0..P {
                    g[i][j] += b[i][j];
                }
            }
        }
        g
    }
}

/// A batch's co-moment matrix (`d × d`, target last) about its own mean, from `Σ w z zᵀ` of
/// its shifted features (`gram`, from the pass or [`gram_of_rows`]), the shifted sums and the
/// target's products (`sums`, `cross`), and the sum of the weights; with the mean's offset from
/// the shift: `C = Σ w z zᵀ − W δ δᵀ` with `δ = Σ w z / W`.
fn comoment_with(
    gram: &DMatrix<f64>,
    p: usize,
    (sums, cross): (&[f64], &[f64]),
    weight: f64,
) -> (DMatrix<f64>, Vec<f64>) {
    let d = p + 1;
    let mut comoment = DMatrix::<f64>::zeros(d, d);
    comoment.view_mut((0, 0), (p, p)).copy_from(gram);
    for (i, &k) in cross.iter().enumerate() {
        comoment[(i, p)] = k;
        comoment[(p, i)] = k;
    }
    let delta: Vec<f64> = sums.iter().map(|s| s / weight).collect();
    for i in 0..d {
        for j in 0..d {
            comoment[(i, j)] -= weight * delta[i] * delta[j];
        }
    }
    (comoment, delta)
}

/// Refuse rows whose shapes do not agree: features, targets, weights, and row indices within
/// the matrix.
fn check_rows(
    p: usize,
    x: &DMatrix<f64>,
    y: &[f64],
    weights: Option<&[f64]>,
    rows: &[usize],
) -> Result<()> {
    if x.ncols() != p || y.len() != x.nrows() {
        return Err(Error::Shape {
            what: "rows of features and targets",
            expected: x.nrows(),
            got: y.len(),
        });
    }
    same_len(
        "weights",
        x.nrows(),
        weights.map_or(x.nrows(), <[f64]>::len),
    )?;
    if let Some(&bad) = rows.iter().find(|&&r| r >= x.nrows()) {
        return Err(Error::Shape {
            what: "a row index within the matrix",
            expected: x.nrows(),
            got: bad,
        });
    }
    Ok(())
}

/// How a batch's columns stand to each other, as far as the precision of its co-moments goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conditioning {
    /// Double precision keeps the digits.
    Fine,
    /// The features are nearly collinear (or too few rows to tell): double-double throughout.
    CollinearFeatures,
    /// The features nearly determine the target: its moments from the batch fit's residuals.
    NearlyExact,
}

/// A batch's [`Conditioning`] from its co-moment matrix (`d × d`, target last), scaled to a unit
/// diagonal: a features' Cholesky pivot below `1 / EXTENDED_ABOVE` (or none: a lower bound on
/// their condition number that is at least [`EXTENDED_ABOVE`]), or a target's pivot (1 − R² of
/// the batch's fit) below [`NEARLY_EXACT_BELOW`]. Columns constant within the batch take no
/// part (they cannot be collinear with anything in it).
fn conditioning(comoment: &DMatrix<f64>) -> Conditioning {
    let p = comoment.nrows() - 1;
    let active: Vec<usize> = (0..=p).filter(|&i| comoment[(i, i)] > 0.0).collect();
    let k = active.len();
    let mut l = vec![0.0; k * k];
    for a in 0..k {
        for b in 0..=a {
            let (i, j) = (active[a], active[b]);
            let scaled = comoment[(i, j)] / (comoment[(i, i)] * comoment[(j, j)]).sqrt();
            let dot: f64 = (0..b).map(|c| l[a * k + c] * l[b * k + c]).sum();
            let v = scaled - dot;
            if a == b {
                // Not above the bound (NaN included): collinear, or too few rows to tell.
                let bound = if i == p {
                    NEARLY_EXACT_BELOW
                } else {
                    1.0 / EXTENDED_ABOVE
                };
                if v.partial_cmp(&bound) != Some(std::cmp::Ordering::Greater) {
                    return if i == p {
                        Conditioning::NearlyExact
                    } else {
                        Conditioning::CollinearFeatures
                    };
                }
                l[a * k + a] = v.sqrt();
            } else {
                l[a * k + b] = v / l[b * k + b];
            }
        }
    }
    Conditioning::Fine
}

/// A nearly exact batch's moments, in double-double, with the target's taken from residuals:
/// the batch's own fit `β, b` (from its double-precision co-moments `comoment` about its means
/// `mean`), the residuals `r = y − x·β − b` of each row, their moments, and then exactly
/// `ȳ = r̄ + x̄·β + b`, `C_xy = C_xr + C_xx β`, `C_yy = C_rr + 2 βᵀC_xr + βᵀC_xx β`. `None` when
/// the features' block cannot be factored (the caller then goes to double-double).
fn residualized(
    batch: (&[f64], &[f64], Option<&[f64]>),
    shift: &[f64],
    mean: &[Dd],
    comoment: &DMatrix<f64>,
    weight: f64,
) -> Option<(Vec<Dd>, Vec<Dd>)> {
    let (x, y, w) = batch;
    let p = shift.len() - 1;
    let d = p + 1;
    let cxx = comoment.view((0, 0), (p, p)).into_owned();
    let beta = nalgebra::Cholesky::new(cxx)?.solve(&comoment.view((0, p), (p, 1)).into_owned());
    let mean_f: Vec<f64> = mean.iter().map(|m| m.to_f64()).collect();
    let b = mean_f[p] - (0..p).map(|j| beta[j] * mean_f[j]).sum::<f64>();
    let beta = beta.as_slice();
    let (mut sr, mut srr, mut sxr) = (0.0, 0.0, vec![0.0; p]);
    for (r, (row, &target)) in x.chunks_exact(p).zip(y).enumerate() {
        let fitted: f64 = row.iter().zip(beta).map(|(v, b)| v * b).sum();
        let res = target - (fitted + b);
        let wres = w.map_or(res, |w| w[r] * res);
        sr += wres;
        srr += wres * res;
        for ((s, &v), c) in sxr.iter_mut().zip(row).zip(shift) {
            *s += (v - c) * wres;
        }
    }
    let mr = sr / weight;
    // About the batch means: C_xr = Σ w (x − shift) r − W (x̄ − shift) r̄, C_rr = Σ w r² − W r̄².
    let cxr: Vec<f64> = (0..p)
        .map(|j| sxr[j] - weight * (mean_f[j] - shift[j]) * mr)
        .collect();
    let crr = srr - weight * mr * mr;
    let mut moments: Vec<Dd> = comoment.iter().map(|&v| Dd::from_f64(v)).collect();
    let mut cyy = Dd::from_f64(crr);
    for i in 0..p {
        let mut cxy = Dd::from_f64(cxr[i]);
        for j in 0..p {
            let c = Dd::product(comoment[(i, j)], beta[j]);
            cxy = cxy.add(c);
            cyy = cyy.add(c.mul_f64(beta[i]));
        }
        cyy = cyy.add(Dd::product(beta[i], cxr[i]).mul_f64(2.0));
        moments[i * d + p] = cxy;
        moments[p * d + i] = cxy;
    }
    moments[p * d + p] = cyy;
    let mut means = mean.to_vec();
    means[p] = (0..p).fold(Dd::from_f64(b).add_f64(mr), |acc, j| {
        acc.add(mean[j].mul_f64(beta[j]))
    });
    Some((means, moments))
}

/// Refuse more than [`MAX_FEATURES`] features: for statistics to be made, and for any file that
/// claims them.
pub(crate) fn check_feature_count(features: usize) -> Result<()> {
    if features > MAX_FEATURES {
        return Err(Error::TooManyFeatures {
            features,
            max: MAX_FEATURES,
        });
    }
    Ok(())
}

impl SufficientStats {
    /// Empty statistics for `n_features` features, at most [`MAX_FEATURES`].
    pub fn new(n_features: usize) -> Result<Self> {
        check_feature_count(n_features)?;
        let d = n_features + 1;
        Ok(Self {
            n_features,
            rows: 0,
            weight: 0.0,
            mean: vec![0.0; d],
            comoment: vec![0.0; d * d],
            min: vec![f64::INFINITY; n_features],
            max: vec![f64::NEG_INFINITY; n_features],
            weight_lo: 0.0,
            mean_lo: vec![0.0; d],
            comoment_lo: vec![0.0; d * d],
            extended: true,
            log_weight: Some((0.0, 0.0)),
            sketches: None,
        })
    }

    /// These statistics, keeping a [`Sketch`] of each column from now on (start empty: a
    /// sketch of only some of the rows would describe none of them).
    pub fn sketched(mut self) -> Self {
        self.sketches = Some(vec![Sketch::new(); self.n_features + 1]);
        self
    }

    /// Stop keeping the columns' sketches (statistics only needed for a fit).
    pub fn forget_sketches(&mut self) {
        self.sketches = None;
    }

    /// The columns' sketches (the features', then the target's), when kept.
    pub fn sketches(&self) -> Option<&[Sketch]> {
        self.sketches.as_deref()
    }

    /// `Σ ln w` over the rows with a positive weight (0 without weights); `None` for statistics
    /// read from a file written before it was kept.
    pub fn log_weight_sum(&self) -> Option<f64> {
        self.log_weight
            .map(|(hi, lo)| Dd::from_parts(hi, lo).to_f64())
    }

    fn add_log_weight(&mut self, sum: Option<Dd>) {
        self.log_weight = match (self.log_weight, sum) {
            (Some((hi, lo)), Some(sum)) => {
                let total = Dd::from_parts(hi, lo).add(sum);
                Some((total.hi, total.lo))
            }
            _ => None,
        };
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Rows seen with a positive weight.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Sum of the weights.
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// Weighted means: features, then the target.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Co-moment `Σ w (zᵢ − z̄ᵢ)(zⱼ − z̄ⱼ)` of columns `i` and `j` (index `p` is the target).
    pub fn comoment(&self, i: usize, j: usize) -> f64 {
        self.comoment[i * (self.n_features + 1) + j]
    }

    /// The sum of the weights in double-double.
    pub(crate) fn weight_dd(&self) -> Dd {
        Dd::from_parts(self.weight, self.weight_lo)
    }

    /// Mean `i` in double-double.
    pub(crate) fn mean_dd(&self, i: usize) -> Dd {
        Dd::from_parts(self.mean[i], low(&self.mean_lo, i))
    }

    /// Co-moment `(i, j)` in double-double.
    pub(crate) fn comoment_dd(&self, i: usize, j: usize) -> Dd {
        let k = i * (self.n_features + 1) + j;
        Dd::from_parts(self.comoment[k], low(&self.comoment_lo, k))
    }

    /// Entry `(i, j)` (the target is `n_features`) of the Gram matrix a fit solves, in
    /// double-double: the co-moment about the means with an intercept, the raw cross-product
    /// `Σ w zᵢ zⱼ` without (the co-moment plus `W z̄ᵢ z̄ⱼ`).
    pub(crate) fn gram_dd(&self, i: usize, j: usize, fit_intercept: bool) -> Dd {
        let c = self.comoment_dd(i, j);
        if fit_intercept {
            c
        } else {
            c.add(self.weight_dd().mul(self.mean_dd(i)).mul(self.mean_dd(j)))
        }
    }

    /// Whether every row was accumulated in double-double (the co-moments then carry about 32
    /// digits, and the solve accepts worse-conditioned problems).
    pub fn extended(&self) -> bool {
        self.extended
    }

    /// Smallest value of each feature over rows with positive weight.
    pub fn min(&self) -> &[f64] {
        &self.min
    }

    /// Largest value of each feature over rows with positive weight.
    pub fn max(&self) -> &[f64] {
        &self.max
    }

    /// Add one row with weight `w`.
    pub fn push(&mut self, x: &[f64], y: f64, w: f64) -> Result<()> {
        self.push_batch(x, &[y], Some(&[w]))
    }

    /// Add a batch: `x` is row-major, `y.len()` rows of `n_features` values;
    /// `weights` defaults to 1 for every row.
    ///
    /// A batch with a non-finite value or a negative weight is refused whole: the statistics
    /// are left as they were.
    pub fn push_batch(&mut self, x: &[f64], y: &[f64], weights: Option<&[f64]>) -> Result<()> {
        let p = self.n_features;
        let n = y.len();
        if p == 0 {
            return Err(Error::Shape {
                what: "feature columns (at least one is needed)",
                expected: 1,
                got: 0,
            });
        }
        same_len("feature values for the given targets", n * p, x.len())?;
        same_len("weights", n, weights.map_or(n, <[f64]>::len))?;
        self.push_table(Table::Rows(x), y, weights)
    }

    /// Push the rows of `x` a [`BATCH`] at a time, all or nothing; their lengths checked by the
    /// caller. A frame's batch is offered as columns, and copied into rows where
    /// [`push_unchecked`](Self::push_unchecked) hands it back.
    fn push_table(&mut self, x: Table<'_>, y: &[f64], weights: Option<&[f64]>) -> Result<()> {
        let (p, n) = (self.n_features, y.len());
        self.all_or_nothing(
            |work| {
                SCRATCH.with_borrow_mut(|scratch| {
                    GATHERED.with_borrow_mut(|gathered| {
                        let mut part: Vec<&[f64]> = Vec::new();
                        for start in (0..n).step_by(BATCH) {
                            let end = (start + BATCH).min(n);
                            let (yb, wb) = (&y[start..end], weights.map(|w| &w[start..end]));
                            if let Table::Columns(columns) = x {
                                part.clear();
                                part.extend(columns.iter().map(|c| &c[start..end]));
                                let batch = Table::Columns(&part);
                                if work.push_unchecked(batch, yb, wb, scratch) == Pushed::Merged {
                                    continue;
                                }
                            }
                            // As rows: a table's own, or a frame's batch copied (weighted, wider
                            // than 16, needing more than the one pass, or refused: to find why).
                            let xb = match x {
                                Table::Rows(x) => &x[start * p..end * p],
                                Table::Columns(columns) => {
                                    if gathered.len() < (end - start) * p {
                                        gathered.resize(BATCH * p, 0.0);
                                    }
                                    let rows = &mut gathered[..(end - start) * p];
                                    transpose(columns, (start, end), rows);
                                    rows
                                }
                            };
                            let batch = Table::Rows(xb);
                            if work.push_unchecked(batch, yb, wb, scratch) == Pushed::Refused {
                                // A NaN or infinity poisoned the sums, or a weight was negative:
                                // find it.
                                check_batch(xb, yb, wb, p, start)?;
                            }
                        }
                        Ok::<(), Error>(())
                    })
                })?;
                if let Some(w) = weights {
                    // Checked above: every weight is finite and ≥ 0.
                    let sum = w
                        .iter()
                        .filter(|&&w| w > 0.0)
                        .fold(Dd::ZERO, |sum, &w| sum.add_f64(w.ln()));
                    work.add_log_weight(Some(sum));
                }
                Ok(())
            },
            |sketches| {
                let (features, target) = sketches.split_at_mut(p);
                for (j, sketch) in features.iter_mut().enumerate() {
                    match x {
                        Table::Rows(x) => sketch.push_strided(x, j, p),
                        Table::Columns(columns) => sketch.push_strided(columns[j], 0, 1),
                    }
                }
                target[0].push_strided(y, 0, 1);
            },
        )
    }

    /// Apply `push` to a working copy, kept only if it succeeds (all or nothing); the sketches
    /// stay out of the copy and take the rows by `sketch` once they are in.
    fn all_or_nothing(
        &mut self,
        push: impl FnOnce(&mut Self) -> Result<()>,
        sketch: impl FnOnce(&mut [Sketch]),
    ) -> Result<()> {
        let mut sketches = self.sketches.take();
        let mut work = self.clone();
        let pushed = push(&mut work);
        if pushed.is_ok() {
            if let Some(s) = &mut sketches {
                sketch(s);
            }
            *self = work;
        }
        self.sketches = sketches;
        pushed
    }

    /// One batch in one pass: rows shifted by a reference point (the running mean, or the
    /// first batch's own mean), `Σ w z zᵀ` of the shifted rows, then corrected to the batch mean and merged.
    ///
    /// Validation rides along for free: a NaN or infinity makes a weighted sum non-finite, and a
    /// negative weight lowers the smallest weight below zero. [`Pushed::Refused`] (nothing merged)
    /// when either happened, so the caller can look for the exact place. A batch of columns is
    /// only taken unweighted and up to 16 wide, and handed back ([`Pushed::AsRows`]) otherwise,
    /// or when it needs more than the one pass: this is the one place that decides.
    fn push_unchecked(
        &mut self,
        table: Table<'_>,
        y: &[f64],
        w: Option<&[f64]>,
        scratch: &mut Vec<f64>,
    ) -> Pushed {
        let p = self.n_features;
        let d = p + 1;
        let n = y.len();
        if n == 0 {
            return Pushed::Merged;
        }
        if matches!(table, Table::Columns(_)) && (w.is_some() || p > 16) {
            return Pushed::AsRows;
        }
        // Shifting by a point near the data keeps the later correction free of cancellation.
        let shift: Vec<f64> = if self.weight > 0.0 {
            self.mean.clone()
        } else {
            first_batch_mean(table, y, w, p)
        };
        // The features' sums and the target's products are summed in one pass, with the
        // features' products up to `GRAM_IN_PASS` of them; wider or weighted, the features are
        // written shifted (and scaled by √w), row-major n × p, for `gram_of_rows`.
        if scratch.len() < n * p {
            // Grown only: shrunk for a short last batch, it was zeroed again by the next push.
            scratch.resize(n * p, 0.0);
        }
        let mut sums = vec![0.0; d];
        let mut cross = vec![0.0; d];
        let acc = Sums {
            sums: &mut sums,
            cross: &mut cross,
            min: &mut self.min,
            max: &mut self.max,
        };
        let ((weight, rows, lightest), gram) = match (table, w) {
            (table, None) => {
                let gram = shifted(p, table, y, &shift, &mut scratch[..n * p], acc);
                ((n as f64, n as u64, 1.0), gram)
            }
            (Table::Rows(x), Some(w)) => (
                weighted_shifted_rows(p, (x, y, w), &shift, &mut scratch[..n * p], acc),
                None,
            ),
            (Table::Columns(_), Some(_)) => unreachable!("weighted columns are handed back above"),
        };
        let poisoned = !(weight.is_finite() && sums.iter().all(|s| s.is_finite()));
        if poisoned || lightest < 0.0 {
            return Pushed::Refused;
        }
        if rows == 0 {
            return Pushed::Merged;
        }
        let gram = gram.unwrap_or_else(|| gram_of_rows(&scratch[..n * p], p));
        let (comoment, delta) = comoment_with(&gram, p, (&sums, &cross), weight);
        let mean: Vec<Dd> = shift
            .iter()
            .zip(&delta)
            .map(|(&c, &dl)| Dd::from_f64(c).add_f64(dl))
            .collect();
        // Symmetric, so nalgebra's column-major order is the row-major order merge expects.
        let conditioning = conditioning(&comoment);
        let x = match table {
            Table::Rows(x) => x,
            // The ranges found are kept: the same rows as rows find the same again.
            Table::Columns(_) if conditioning != Conditioning::Fine => return Pushed::AsRows,
            Table::Columns(_) => &[],
        };
        let (mean, comoment) = match conditioning {
            Conditioning::Fine => (mean, comoment.iter().map(|&v| Dd::from_f64(v)).collect()),
            Conditioning::NearlyExact => {
                match residualized((x, y, w), &shift, &mean, &comoment, weight) {
                    Some(moments) => moments,
                    None => return self.push_extended(x, y, w),
                }
            }
            Conditioning::CollinearFeatures => return self.push_extended(x, y, w),
        };
        self.merge_moments(rows, Dd::from_f64(weight), &mean, &comoment, false);
        Pushed::Merged
    }

    /// One batch in double-double, row by row: the weighted means, then the co-moments about
    /// them, each product and sum carried to about 32 digits. For batches whose columns are
    /// nearly collinear, where the double-precision co-moments would lose the digits the
    /// solve needs. Refused, merging nothing, on a non-finite value or a negative weight.
    fn push_extended(&mut self, x: &[f64], y: &[f64], w: Option<&[f64]>) -> Pushed {
        let (p, d, n) = (self.n_features, self.n_features + 1, y.len());
        let value = |r: usize, i: usize| if i < p { x[r * p + i] } else { y[r] };
        let weight_of = |r: usize| w.map_or(1.0, |w| w[r]);
        let (mut total, mut sums) = (Dd::ZERO, vec![Dd::ZERO; d]);
        let (mut rows, mut lightest) = (0_u64, 0.0_f64);
        for r in 0..n {
            let wr = weight_of(r);
            lightest = lightest.min(wr);
            total = total.add_f64(wr);
            for (i, sum) in sums.iter_mut().enumerate() {
                *sum = sum.add(Dd::product(wr, value(r, i)));
            }
            if wr != 0.0 {
                rows += 1;
                let row = &x[r * p..(r + 1) * p];
                for ((&v, lo), hi) in row.iter().zip(&mut self.min).zip(&mut self.max) {
                    *lo = lo.min(v);
                    *hi = hi.max(v);
                }
            }
        }
        if !(total.hi.is_finite() && sums.iter().all(|s| s.hi.is_finite())) || lightest < 0.0 {
            return Pushed::Refused;
        }
        if rows == 0 || total.hi == 0.0 {
            return Pushed::Merged;
        }
        let mean: Vec<Dd> = sums.iter().map(|s| s.div(total)).collect();
        let mut comoment = vec![Dd::ZERO; d * d];
        let mut z = vec![Dd::ZERO; d];
        for r in (0..n).filter(|&r| weight_of(r) != 0.0) {
            for (i, zi) in z.iter_mut().enumerate() {
                *zi = Dd::from_f64(value(r, i)).sub(mean[i]);
            }
            for i in 0..d {
                let wz = z[i].mul_f64(weight_of(r));
                for j in i..d {
                    comoment[i * d + j] = comoment[i * d + j].add(wz.mul(z[j]));
                }
            }
        }
        for i in 0..d {
            for j in 0..i {
                comoment[i * d + j] = comoment[j * d + i];
            }
        }
        self.merge_moments(rows, total, &mean, &comoment, true);
        Pushed::Merged
    }

    /// Add every row of `x`, laid out as nalgebra lays it out (column-major, one row per
    /// sample), with targets `y`. No copy of the matrix is made: its columns are read in place
    /// ([`push_columns`](Self::push_columns)).
    pub fn push_matrix(&mut self, x: &DMatrix<f64>, y: &[f64]) -> Result<()> {
        check_rows(self.n_features, x, y, None, &[])?;
        self.push_columns(x.as_slice(), x.nrows(), y, None)
    }

    /// Add the rows `rows` of `x` (column-major, one row per sample; a training split's index
    /// list, say; a row listed twice counts twice), with their targets from `y`. All or
    /// nothing, as [`push_batch`](Self::push_batch).
    pub fn push_rows(&mut self, x: &DMatrix<f64>, y: &[f64], rows: &[usize]) -> Result<()> {
        self.push_rows_weighted(x, y, None, rows)
    }

    /// [`push_rows`](Self::push_rows) with a weight for each row of `x` (`None`: all 1).
    pub fn push_rows_weighted(
        &mut self,
        x: &DMatrix<f64>,
        y: &[f64],
        weights: Option<&[f64]>,
        rows: &[usize],
    ) -> Result<()> {
        check_rows(self.n_features, x, y, weights, rows)?;
        if rows.is_sorted() {
            return self.push_gathered(x.as_slice(), x.nrows(), y, weights, rows.iter().copied());
        }
        // The statistics do not depend on the order of the rows (beyond rounding), so they are
        // read in storage order: each column streams through the cache instead of being
        // gathered at random, as a shuffled split's index list would have it.
        let mut times = vec![0_u32; x.nrows()];
        for &r in rows {
            times[r] += 1;
        }
        let in_order = times
            .iter()
            .enumerate()
            .flat_map(|(r, &t)| std::iter::repeat_n(r, t as usize));
        self.push_gathered(x.as_slice(), x.nrows(), y, weights, in_order)
    }

    /// Add `n` rows given column by column: `columns` holds the first feature's `n` values, then
    /// the second's, and so on (nalgebra's layout, NumPy's Fortran order), read in place; the
    /// targets `y` and the weights (`None`: all 1) one per row. All or nothing, as
    /// [`push_batch`](Self::push_batch).
    pub fn push_columns(
        &mut self,
        columns: &[f64],
        n: usize,
        y: &[f64],
        weights: Option<&[f64]>,
    ) -> Result<()> {
        let p = self.n_features;
        for (what, expected, got) in [
            ("feature values, column by column", n * p, columns.len()),
            ("targets", n, y.len()),
            ("weights", n, weights.map_or(n, <[f64]>::len)),
        ] {
            same_len(what, expected, got)?;
        }
        let slices: Vec<&[f64]> = (0..p).map(|j| &columns[j * n..(j + 1) * n]).collect();
        self.push_column_slices(&slices, y, weights)
    }

    /// [`push_columns`](Self::push_columns) of columns given as slices of equal length, each
    /// read in place (a pandas frame's columns, or a range of rows of them): the same
    /// statistics, to the bit, as the rows pushed by [`push_batch`](Self::push_batch) (the one
    /// pass, its rows copied from the columns 64 at a time).
    pub fn push_column_slices(
        &mut self,
        columns: &[&[f64]],
        y: &[f64],
        weights: Option<&[f64]>,
    ) -> Result<()> {
        let p = self.n_features;
        let n = y.len();
        same_len("feature columns", p, columns.len())?;
        for column in columns {
            same_len("values in each feature column", n, column.len())?;
        }
        same_len("weights", n, weights.map_or(n, <[f64]>::len))?;
        if p == 0 {
            return self.push_batch(&[], y, weights);
        }
        self.push_table(Table::Columns(columns), y, weights)
    }

    /// Gather the rows `rows` (each index in `0..n`, in storage order) of the column-major
    /// `data` into row-major batches, and push them.
    fn push_gathered(
        &mut self,
        data: &[f64],
        n: usize,
        y: &[f64],
        weights: Option<&[f64]>,
        rows: impl Iterator<Item = usize>,
    ) -> Result<()> {
        let p = self.n_features;
        let mut work = self.clone();
        let mut batch: Vec<usize> = Vec::with_capacity(4 * BATCH);
        let (mut xb, mut yb) = (vec![0.0; 4 * BATCH * p], Vec::with_capacity(4 * BATCH));
        let mut wb = Vec::with_capacity(if weights.is_some() { 4 * BATCH } else { 0 });
        let mut flush = |batch: &mut Vec<usize>, work: &mut Self| -> Result<()> {
            for (j, column) in data.chunks_exact(n.max(1)).take(p).enumerate() {
                for (k, &r) in batch.iter().enumerate() {
                    xb[k * p + j] = column[r];
                }
            }
            yb.clear();
            yb.extend(batch.iter().map(|&r| y[r]));
            let batch_weights = weights.map(|w| {
                wb.clear();
                wb.extend(batch.iter().map(|&r| w[r]));
                &wb[..]
            });
            work.push_batch(&xb[..batch.len() * p], &yb, batch_weights)?;
            batch.clear();
            Ok(())
        };
        for r in rows {
            batch.push(r);
            if batch.len() == 4 * BATCH {
                flush(&mut batch, &mut work)?;
            }
        }
        if !batch.is_empty() {
            flush(&mut batch, &mut work)?;
        }
        *self = work;
        Ok(())
    }

    /// Chan et al.'s pairwise update of count, mean and co-moments, in double-double.
    fn merge_moments(
        &mut self,
        rows: u64,
        weight: Dd,
        mean: &[Dd],
        comoment: &[Dd],
        extended: bool,
    ) {
        if weight.hi == 0.0 {
            return;
        }
        let d = self.n_features + 1;
        self.mean_lo.resize(d, 0.0);
        self.comoment_lo.resize(d * d, 0.0);
        self.extended &= extended;
        let mine = self.weight_dd();
        if mine.hi == 0.0 {
            for (i, m) in mean.iter().enumerate() {
                (self.mean[i], self.mean_lo[i]) = (m.hi, m.lo);
            }
            for (k, c) in comoment.iter().enumerate() {
                (self.comoment[k], self.comoment_lo[k]) = (c.hi, c.lo);
            }
        } else {
            let total = mine.add(weight);
            let delta: Vec<Dd> = (0..d).map(|i| mean[i].sub(self.mean_dd(i))).collect();
            let f = mine.mul(weight).div(total);
            for i in 0..d {
                let fd = f.mul(delta[i]);
                for j in i..d {
                    let c = self
                        .comoment_dd(i, j)
                        .add(comoment[i * d + j])
                        .add(fd.mul(delta[j]));
                    for k in [i * d + j, j * d + i] {
                        (self.comoment[k], self.comoment_lo[k]) = (c.hi, c.lo);
                    }
                }
            }
            let share = weight.div(total);
            for (i, dm) in delta.iter().enumerate() {
                let m = self.mean_dd(i).add(dm.mul(share));
                (self.mean[i], self.mean_lo[i]) = (m.hi, m.lo);
            }
        }
        let total = mine.add(weight);
        (self.weight, self.weight_lo) = (total.hi, total.lo);
        self.rows += rows;
    }

    /// Combine with statistics of other rows: the result equals one pass over both sets.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        same_len(
            "features in merged statistics",
            self.n_features,
            other.n_features,
        )?;
        for c in 0..self.n_features {
            self.min[c] = self.min[c].min(other.min[c]);
            self.max[c] = self.max[c].max(other.max[c]);
        }
        let d = self.n_features + 1;
        let mean: Vec<Dd> = (0..d).map(|i| other.mean_dd(i)).collect();
        let comoment: Vec<Dd> = (0..d * d)
            .map(|k| other.comoment_dd(k / d, k % d))
            .collect();
        self.merge_moments(
            other.rows,
            other.weight_dd(),
            &mean,
            &comoment,
            other.extended,
        );
        self.add_log_weight(other.log_weight.map(|(hi, lo)| Dd::from_parts(hi, lo)));
        // Sketches of all the rows only when both sides kept them.
        self.sketches = match (self.sketches.take(), &other.sketches) {
            (Some(mut mine), Some(theirs)) => {
                for (m, t) in mine.iter_mut().zip(theirs) {
                    m.merge(t);
                }
                Some(mine)
            }
            _ => None,
        };
        Ok(())
    }

    /// R² and RMSE of the linear function `x · coefficients + intercept` on the rows these
    /// statistics describe, from their moments alone (no second pass over the rows):
    /// the residual `r = y − x·β − b` has mean `ȳ − x̄·β − b` and centred sum of squares
    /// `[−β, 1]ᵀ C [−β, 1]`. Weighted rows count with their weight. `None` without rows; R² is
    /// NaN for a single row, as in [`Metrics::compute`](crate::Metrics::compute).
    pub fn r2_rmse(&self, coefficients: &[f64], intercept: f64) -> Option<(f64, f64)> {
        let p = self.n_features;
        if self.weight <= 0.0 || coefficients.len() != p {
            return None;
        }
        // In double-double: for a nearly exact fit the centred sum is a tiny difference of
        // large terms, which double precision would round to noise (or below zero).
        let v: Vec<f64> = coefficients.iter().map(|b| -b).chain([1.0]).collect();
        let mut centred = Dd::ZERO;
        for (i, &vi) in v.iter().enumerate() {
            let row = v.iter().enumerate().fold(Dd::ZERO, |row, (j, &vj)| {
                row.add(self.comoment_dd(i, j).mul_f64(vj))
            });
            centred = centred.add(row.mul_f64(vi));
        }
        let mut mean_residual = self.mean_dd(p).add_f64(-intercept);
        for (j, &b) in coefficients.iter().enumerate() {
            mean_residual = mean_residual.sub(self.mean_dd(j).mul_f64(b));
        }
        let centred = if centred.hi < 0.0 { Dd::ZERO } else { centred };
        let ss_res = centred.add(self.weight_dd().mul(mean_residual.mul(mean_residual)));
        let ss_tot = self.comoment_dd(p, p);
        let r2 = if self.rows < 2 {
            f64::NAN
        } else if ss_tot.hi > 0.0 {
            1.0 - ss_res.div(ss_tot).to_f64()
        } else if ss_res.hi == 0.0 {
            1.0
        } else {
            0.0
        };
        Some((r2, ss_res.div(self.weight_dd()).sqrt().to_f64()))
    }

    /// Check that a value read from outside (a file) is well formed.
    pub fn validate(&self) -> Result<()> {
        check_feature_count(self.n_features)?;
        let d = self.n_features + 1;
        let low_ok = |low: &[f64], len: usize| {
            (low.is_empty() || low.len() == len) && low.iter().all(|v| v.is_finite())
        };
        let ok = self.mean.len() == d
            && self.comoment.len() == d * d
            && low_ok(&self.mean_lo, d)
            && low_ok(&self.comoment_lo, d * d)
            && self.weight_lo.is_finite()
            && self
                .log_weight
                .is_none_or(|(hi, lo)| hi.is_finite() && lo.is_finite())
            && self.min.len() == self.n_features
            && self.max.len() == self.n_features
            && self
                .sketches
                .as_ref()
                .is_none_or(|s| s.len() == self.n_features + 1)
            && self.weight.is_finite()
            && self.weight >= 0.0
            && self
                .mean
                .iter()
                .chain(&self.comoment)
                .all(|v| v.is_finite());
        if ok {
            Ok(())
        } else {
            Err(Error::Format(String::from(
                "sufficient statistics are inconsistent",
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metrics;
    use approx::assert_relative_eq;

    /// The pass over more than eight features, compiled for SSE2 (pulp's `Scalar`), AVX2 (`V3`)
    /// and AVX-512 (`V4`), each where the CPU has it: the shifted rows, their sums, the ranges and
    /// the Gram matrix are the same bits in every one (no fused multiply-add, sums in one order),
    /// read from rows or from columns. (Up to eight features: `lanes`' own test.)
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_passes_give_the_same_bits_in_every_instruction_set() {
        use pulp::Simd;

        fn bits(v: &[f64]) -> Vec<u64> {
            v.iter().map(|v| v.to_bits()).collect()
        }

        fn passes<const P: usize, S: Simd>(
            simd: S,
            x: &[f64],
            y: &[f64],
            shift: &[f64],
        ) -> Vec<u64> {
            let columns: Vec<Vec<f64>> = (0..P)
                .map(|j| x.chunks_exact(P).map(|row| row[j]).collect())
                .collect();
            let columns: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
            let [from_rows, from_columns] =
                [Table::Rows(x), Table::Columns(&columns)].map(|table| {
                    let mut scratch = vec![0.0; x.len()];
                    let (mut sums, mut cross) = (vec![0.0; P + 1], vec![0.0; P + 1]);
                    let (mut min, mut max) = (vec![f64::INFINITY; P], vec![f64::NEG_INFINITY; P]);
                    let gram = simd.vectorize(Shifted::<P> {
                        x: table,
                        y,
                        shift,
                        scratch: &mut scratch,
                        acc: Sums {
                            sums: &mut sums,
                            cross: &mut cross,
                            min: &mut min,
                            max: &mut max,
                        },
                    });
                    assert!(
                        gram.is_none(),
                        "wider than eight, the Gram matrix is GramRows'"
                    );
                    let gram = gram_of_rows(&scratch, P);
                    [sums, cross, min, max, scratch, gram.as_slice().to_vec()].map(|v| bits(&v))
                });
            assert_eq!(from_rows, from_columns, "rows and columns, {P} features");
            from_rows.concat()
        }
        // 2,000 rows of features of different scales and offsets (the last block of 64 rows is
        // partial), nine and eleven of them.
        fn compare<const P: usize>() {
            let n: usize = 2_000;
            let x: Vec<f64> = (0..n * P)
                .map(|i| {
                    ((i * 7919 % 1013) as f64 / 7.0 - 70.0) * 10f64.powi((i % P) as i32 % 7 - 3)
                        + (i % P) as f64 * 1e3
                })
                .collect();
            let y: Vec<f64> = (0..n)
                .map(|r| (r * 104_729 % 997) as f64 * 0.013 - 5.0)
                .collect();
            let shift: Vec<f64> = (0..=P).map(|j| j as f64 * 1e3 + 0.1).collect();
            let scalar = passes::<P, _>(pulp::Scalar::new(), &x, &y, &shift);
            let mut compared = 0;
            if let Some(v3) = pulp::x86::V3::try_new() {
                assert_eq!(passes::<P, _>(v3, &x, &y, &shift), scalar, "AVX2");
                compared += 1;
            }
            if let Some(v4) = pulp::x86::V4::try_new() {
                assert_eq!(passes::<P, _>(v4, &x, &y, &shift), scalar, "AVX-512");
                compared += 1;
            }
            eprintln!("{P} features: compared SSE2 with {compared} wider instruction sets");
        }
        compare::<9>();
        compare::<11>();
    }

    #[test]
    fn rows_of_a_matrix_equal_the_same_rows_pushed_as_a_batch() {
        // 20,000 rows over several internal batches; a shuffled list with a row twice.
        let n = 20_000;
        let x = DMatrix::from_fn(n, 3, |r, c| {
            ((r * 7 + c * 13) % 101) as f64 * 0.37 + c as f64
        });
        let y: Vec<f64> = (0..n).map(|r| ((r * 31) % 97) as f64 - 40.0).collect();
        let mut rows: Vec<usize> = (0..n).filter(|r| r % 5 != 0).collect();
        rows.reverse();
        rows.push(12);
        let mut by_rows = SufficientStats::new(3).unwrap();
        by_rows.push_rows(&x, &y, &rows).unwrap();
        let mut flat = Vec::new();
        let mut targets = Vec::new();
        for &r in &rows {
            flat.extend((0..3).map(|c| x[(r, c)]));
            targets.push(y[r]);
        }
        let mut by_batch = SufficientStats::new(3).unwrap();
        by_batch.push_batch(&flat, &targets, None).unwrap();
        assert_eq!(by_rows.rows(), by_batch.rows());
        for i in 0..4 {
            assert_relative_eq!(by_rows.mean()[i], by_batch.mean()[i], max_relative = 1e-13);
            for j in 0..4 {
                assert_relative_eq!(
                    by_rows.comoment(i, j),
                    by_batch.comoment(i, j),
                    max_relative = 1e-12
                );
            }
        }
        // The whole matrix, read from its columns in place: the bits of its rows in order.
        let mut whole = SufficientStats::new(3).unwrap();
        whole.push_matrix(&x, &y).unwrap();
        let in_order: Vec<f64> = x.transpose().as_slice().to_vec();
        let mut by_batch = SufficientStats::new(3).unwrap();
        by_batch.push_batch(&in_order, &y, None).unwrap();
        assert_eq!(whole, by_batch);
        assert!(whole.push_matrix(&x, &y[1..]).is_err());
        assert!(
            by_rows.push_rows(&x, &y, &[n]).is_err(),
            "an index past the end"
        );
    }

    #[test]
    fn columns_read_in_place_equal_the_same_rows_pushed_row_major() {
        // 10,000 rows over several batches, weighted; columns back to back, as NumPy's Fortran
        // order and nalgebra lay them out.
        let n = 10_000;
        let value = |r: usize, c: usize| ((r * 7 + c * 13) % 101) as f64 * 0.37 + c as f64;
        let y: Vec<f64> = (0..n).map(|r| ((r * 31) % 97) as f64 - 40.0).collect();
        let w: Vec<f64> = (0..n).map(|r| (r % 4) as f64).collect();
        // Six columns are read in step as groups of four and two.
        let six: Vec<f64> = (0..6)
            .flat_map(|c| (0..n).map(move |r| value(r, c)))
            .collect();
        let six_rows: Vec<f64> = (0..n)
            .flat_map(|r| (0..6).map(move |c| value(r, c)))
            .collect();
        let (mut by_columns, mut by_rows) = (
            SufficientStats::new(6).unwrap(),
            SufficientStats::new(6).unwrap(),
        );
        by_columns.push_columns(&six, n, &y, None).unwrap();
        by_rows.push_batch(&six_rows, &y, None).unwrap();
        assert_eq!(by_columns, by_rows);
        let p = 3;
        let columns = six[..p * n].to_vec();
        let rows: Vec<f64> = (0..n)
            .flat_map(|r| (0..p).map(move |c| value(r, c)))
            .collect();
        // Weighted (gathered into rows), and unweighted (read column by column).
        for weights in [Some(&w[..]), None] {
            let mut by_columns = SufficientStats::new(p).unwrap();
            by_columns.push_columns(&columns, n, &y, weights).unwrap();
            let mut by_rows = SufficientStats::new(p).unwrap();
            by_rows.push_batch(&rows, &y, weights).unwrap();
            assert_eq!(by_columns.rows(), by_rows.rows());
            assert_eq!(by_columns.min(), by_rows.min());
            assert_eq!(by_columns.max(), by_rows.max());
            if weights.is_none() {
                // The rows' sums in the rows' order: the same bits, whatever the layout.
                assert_eq!(by_columns, by_rows);
            }
            for i in 0..=p {
                assert_relative_eq!(
                    by_columns.mean()[i],
                    by_rows.mean()[i],
                    max_relative = 1e-14
                );
                for j in 0..=p {
                    assert_relative_eq!(
                        by_columns.comoment(i, j),
                        by_rows.comoment(i, j),
                        max_relative = 1e-12
                    );
                }
            }
        }
        // A NaN is refused at its row, and nothing is kept; a batch too nearly collinear for
        // double precision goes the rows' way (double-double) and equals it.
        let mut poisoned = columns.clone();
        poisoned[n + 4321] = f64::NAN;
        let mut stats = SufficientStats::new(p).unwrap();
        let e = stats.push_columns(&poisoned, n, &y, None).unwrap_err();
        assert!(
            matches!(
                e,
                Error::NonFinite {
                    row: 4321,
                    column: 1,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(stats.rows(), 0);
        let collinear: Vec<f64> = (0..n)
            .map(|r| r as f64)
            .chain((0..n).map(|r| 2.0 * r as f64 + 1e-9 * ((r % 3) as f64)))
            .collect();
        let target: Vec<f64> = (0..n).map(|r| (r % 5) as f64).collect();
        let mut by_columns = SufficientStats::new(2).unwrap();
        by_columns
            .push_columns(&collinear, n, &target, None)
            .unwrap();
        let rows2: Vec<f64> = (0..n)
            .flat_map(|r| [collinear[r], collinear[n + r]])
            .collect();
        let mut by_rows = SufficientStats::new(2).unwrap();
        by_rows.push_batch(&rows2, &target, None).unwrap();
        assert!(by_rows.extended());
        assert_eq!(by_columns, by_rows);
        let mut by_columns = SufficientStats::new(p).unwrap();
        assert!(matches!(
            by_columns.push_columns(&columns[1..], n, &y, None),
            Err(Error::Shape { .. })
        ));
    }

    /// Unweighted columns are read in place up to 16 of them, and copied into rows beyond; a
    /// batch whose target the features nearly determine is pushed again as rows (its residuals
    /// are read from them): the same bits as the rows in every case.
    #[test]
    fn columns_give_the_bits_of_rows_at_every_width() {
        let n = 5_000; // three batches, the last partial
        let value = |r: usize, c: usize| {
            ((r * 7919 + c * 104_729) % 1013) as f64 * 0.013 * (c + 1) as f64 + c as f64 * 10.0
        };
        for p in [1, 2, 7, 8, 9, 16, 17] {
            let columns: Vec<f64> = (0..p)
                .flat_map(|c| (0..n).map(move |r| value(r, c)))
                .collect();
            let rows: Vec<f64> = (0..n)
                .flat_map(|r| (0..p).map(move |c| value(r, c)))
                .collect();
            let noisy: Vec<f64> = (0..n).map(|r| value(r, p) - 50.0).collect();
            // Explained but for a few parts in a billion: the residuals' way.
            let exact: Vec<f64> = (0..n)
                .map(|r| {
                    (0..p).map(|c| (c + 1) as f64 * value(r, c)).sum::<f64>()
                        + 1e-9 * ((r % 7) as f64 - 3.0)
                })
                .collect();
            for y in [&noisy, &exact] {
                let mut by_columns = SufficientStats::new(p).unwrap();
                by_columns.push_columns(&columns, n, y, None).unwrap();
                let mut by_rows = SufficientStats::new(p).unwrap();
                by_rows.push_batch(&rows, y, None).unwrap();
                assert_eq!(by_columns, by_rows, "{p} columns");
            }
        }
    }

    #[test]
    fn r2_and_rmse_from_moments_equal_the_direct_formulas() {
        let x = [1.0, 10.0, 2.0, 20.0, 4.0, 25.0, 7.0, 31.0, 3.0, 12.0];
        let y = [3.0, 5.0, 4.0, 9.0, 2.5];
        let mut s = SufficientStats::new(2).unwrap();
        s.push_batch(&x, &y, None).unwrap();
        let (beta, b) = ([0.7, 0.15], 0.4);
        let predicted: Vec<f64> = x
            .chunks(2)
            .map(|r| r[0] * beta[0] + r[1] * beta[1] + b)
            .collect();
        let direct = Metrics::compute(&y, &predicted).unwrap();
        let (r2, rmse) = s.r2_rmse(&beta, b).unwrap();
        assert_relative_eq!(r2, direct.r2, max_relative = 1e-12);
        assert_relative_eq!(rmse, direct.rmse, max_relative = 1e-12);
        assert!(SufficientStats::new(2).unwrap().r2_rmse(&beta, b).is_none());
    }

    #[test]
    fn means_and_comoments_match_two_pass_formulas() {
        let x = [1.0, 10.0, 2.0, 20.0, 4.0, 25.0, 7.0, 31.0];
        let y = [3.0, 5.0, 4.0, 9.0];
        let mut s = SufficientStats::new(2).unwrap();
        s.push_batch(&x, &y, None).unwrap();
        assert_eq!(s.rows(), 4);
        assert_relative_eq!(s.mean()[0], 3.5);
        assert_relative_eq!(s.mean()[2], 5.25);
        // Σ (x0 − 3.5)(y − 5.25) computed by hand: (-2.5)(-2.25)+(-1.5)(-0.25)+(0.5)(-1.25)+(3.5)(3.75)
        assert_relative_eq!(s.comoment(0, 2), 18.5, max_relative = 1e-14);
        assert_eq!(s.min(), &[1.0, 10.0]);
        assert_eq!(s.max(), &[7.0, 31.0]);
    }

    #[test]
    fn rejects_bad_input_with_its_place() {
        let mut s = SufficientStats::new(2).unwrap();
        assert!(matches!(
            s.push_batch(&[1.0, 2.0, 3.0], &[1.0, 2.0], None),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            s.push_batch(&[1.0, 2.0, 3.0, f64::NAN], &[1.0, 2.0], None),
            Err(Error::NonFinite {
                what: "feature",
                row: 1,
                column: 1,
                ..
            })
        ));
        assert!(matches!(
            s.push(&[1.0, 2.0], 1.0, -1.0),
            Err(Error::NegativeWeight { .. })
        ));
        assert_eq!(s.rows(), 0, "a rejected batch leaves no trace");
    }

    #[test]
    fn more_features_than_a_fit_takes_are_refused_before_allocating() {
        assert!(matches!(
            SufficientStats::new(MAX_FEATURES + 1),
            Err(Error::TooManyFeatures {
                features: 1001,
                max: 1000
            })
        ));
        assert_eq!(
            SufficientStats::new(MAX_FEATURES).unwrap().n_features(),
            MAX_FEATURES
        );
        let wide = nalgebra::DMatrix::<f64>::zeros(3, MAX_FEATURES + 1);
        let fit = crate::LinearRegression::default().fit(&wide, &nalgebra::DVector::zeros(3));
        assert!(matches!(fit, Err(Error::TooManyFeatures { .. })));
        // Statistics read from a file that claims more features, as a forged one might, are
        // refused (and the sizes they imply are not computed: they would overflow).
        let mut forged = SufficientStats::new(2).unwrap();
        forged.n_features = usize::MAX;
        assert!(matches!(
            forged.validate(),
            Err(Error::TooManyFeatures { .. })
        ));
    }
}
