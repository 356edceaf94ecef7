//! The unweighted pass over a batch of up to eight features, eight rows at a time.
//!
//! Each sum (a column's, its product with the target's, an entry of the Gram matrix) is kept as
//! eight partial sums, row `r` in partial `r % 8`, added up at the end of the batch in one fixed
//! order ([`total`]). A column's rows are then added as they lie in a frame (a vector of eight
//! consecutive rows), and the Gram matrix takes its entries on and above the diagonal only.
//! A table's rows are first copied into columns a block at a time ([`columns_of_rows`]), so
//! rows and columns take the one definition and give the same bits.
//!
//! The eight lanes are the same eight in every instruction set: one AVX-512 register, two AVX2
//! registers, or eight scalars ([`Octet`]); each lane's operations are IEEE-754's, a product
//! added to a sum by a fused multiply-add (rounded once: `f64::mul_add` in scalars), so every
//! instruction set gives the same bits too.

/// Rows summed in one run within a batch, before their sums join the batch's: a sum's rounding
/// error grows with the terms added in one run.
pub(crate) const BLOCK: usize = 64;

/// A batch's features as a push takes them: row-major, or one slice per feature.
#[derive(Clone, Copy)]
pub(crate) enum Table<'a> {
    Rows(&'a [f64]),
    Columns(&'a [&'a [f64]]),
}

/// The sums of a pass over a batch of `P` features: the features' sums and products with the
/// target, the target's sum and sum of squares, all shifted.
pub(crate) type PassTotals<const P: usize> = ([f64; P], [f64; P], f64, f64);

/// The Gram matrix of a batch's `P` shifted features.
pub(crate) type Gram<const P: usize> = [[f64; P]; P];

/// Rows added side by side.
const LANES: usize = 8;

/// Eight lanes of `f64`, with the operations the pass takes, lane by lane.
pub(crate) trait Octet: Copy {
    /// What allows the instructions (pulp's token of the instruction set).
    type Isa: Copy;
    /// Whether the Gram matrix's partial sums fit the registers in two bands of rows (AVX-512's
    /// 32 registers); otherwise they are taken four entries at a time.
    const WIDE: bool;
    fn splat(isa: Self::Isa, v: f64) -> Self;
    fn load(isa: Self::Isa, v: [f64; LANES]) -> Self;
    fn lanes(self) -> [f64; LANES];
    fn add(isa: Self::Isa, a: Self, b: Self) -> Self;
    fn sub(isa: Self::Isa, a: Self, b: Self) -> Self;
    /// `a * b + c`, rounded once (IEEE-754's fused multiply-add).
    fn mul_add(isa: Self::Isa, a: Self, b: Self, c: Self) -> Self;
    /// `v < m ? v : m`, lane by lane (as the instructions' own minimum).
    fn min(isa: Self::Isa, v: Self, m: Self) -> Self;
    /// `v > m ? v : m`, lane by lane.
    fn max(isa: Self::Isa, v: Self, m: Self) -> Self;
    /// A block of rows (`P` wide) into columns.
    #[inline(always)]
    fn columns_of_rows<const P: usize>(_: Self::Isa, rows: &[f64], block: &mut [[f64; BLOCK]; P]) {
        columns_of_rows::<P>(rows, block);
    }
}

/// Eight scalars: the instruction set the crate is compiled for.
impl Octet for [f64; LANES] {
    type Isa = ();
    const WIDE: bool = false;
    #[inline(always)]
    fn splat((): (), v: f64) -> Self {
        [v; LANES]
    }
    #[inline(always)]
    fn load((): (), v: [f64; LANES]) -> Self {
        v
    }
    #[inline(always)]
    fn lanes(self) -> [f64; LANES] {
        self
    }
    #[inline(always)]
    fn add((): (), a: Self, b: Self) -> Self {
        std::array::from_fn(|l| a[l] + b[l])
    }
    #[inline(always)]
    fn sub((): (), a: Self, b: Self) -> Self {
        std::array::from_fn(|l| a[l] - b[l])
    }
    #[inline(always)]
    fn mul_add((): (), a: Self, b: Self, c: Self) -> Self {
        std::array::from_fn(|l| a[l].mul_add(b[l], c[l]))
    }
    #[inline(always)]
    fn min((): (), v: Self, m: Self) -> Self {
        std::array::from_fn(|l| if v[l] < m[l] { v[l] } else { m[l] })
    }
    #[inline(always)]
    fn max((): (), v: Self, m: Self) -> Self {
        std::array::from_fn(|l| if v[l] > m[l] { v[l] } else { m[l] })
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{BLOCK, LANES, Octet};
    use core::arch::x86_64::{__m256d, __m512d};
    use pulp::x86::{V3, V4};

    /// One AVX-512 register.
    #[derive(Clone, Copy)]
    pub(crate) struct Zmm(__m512d);

    impl Octet for Zmm {
        type Isa = V4;
        const WIDE: bool = true;
        #[inline(always)]
        fn splat(isa: V4, v: f64) -> Self {
            Zmm(isa.avx512f._mm512_set1_pd(v))
        }
        #[inline(always)]
        fn load(_: V4, v: [f64; LANES]) -> Self {
            Zmm(pulp::cast(v))
        }
        #[inline(always)]
        fn lanes(self) -> [f64; LANES] {
            pulp::cast(self.0)
        }
        #[inline(always)]
        fn add(isa: V4, a: Self, b: Self) -> Self {
            Zmm(isa.avx512f._mm512_add_pd(a.0, b.0))
        }
        #[inline(always)]
        fn sub(isa: V4, a: Self, b: Self) -> Self {
            Zmm(isa.avx512f._mm512_sub_pd(a.0, b.0))
        }
        #[inline(always)]
        fn mul_add(isa: V4, a: Self, b: Self, c: Self) -> Self {
            Zmm(isa.avx512f._mm512_fmadd_pd(a.0, b.0, c.0))
        }
        #[inline(always)]
        fn min(isa: V4, v: Self, m: Self) -> Self {
            Zmm(isa.avx512f._mm512_min_pd(v.0, m.0))
        }
        #[inline(always)]
        fn max(isa: V4, v: Self, m: Self) -> Self {
            Zmm(isa.avx512f._mm512_max_pd(v.0, m.0))
        }
        /// Eight features: eight rows at a time by a transpose in registers.
        #[inline(always)]
        fn columns_of_rows<const P: usize>(isa: V4, rows: &[f64], block: &mut [[f64; BLOCK]; P]) {
            if P != LANES {
                return super::columns_of_rows::<P>(rows, block);
            }
            let (groups, rest) = rows.as_chunks::<{ LANES * LANES }>();
            for (g, group) in groups.iter().enumerate().take(BLOCK / LANES) {
                let a: [__m512d; LANES] = std::array::from_fn(|r| {
                    let row: [f64; LANES] =
                        group[r * LANES..(r + 1) * LANES].try_into().expect("a row");
                    pulp::cast(row)
                });
                for (j, column) in transpose(isa, a).into_iter().enumerate().take(P) {
                    let column: [f64; LANES] = pulp::cast(column);
                    block[j][g * LANES..(g + 1) * LANES].copy_from_slice(&column);
                }
            }
            let done = groups.len() * LANES;
            for (r, row) in rest.chunks_exact(LANES).enumerate() {
                for (j, &v) in row.iter().enumerate().take(P) {
                    block[j][done + r] = v;
                }
            }
        }
    }

    /// An 8×8 transpose in AVX-512 registers (rows into columns, or back): each pair of rows
    /// interleaved, then two rounds of 128-bit lane shuffles; three shuffles a row.
    #[inline(always)]
    fn transpose(isa: V4, a: [__m512d; LANES]) -> [__m512d; LANES] {
        let f = isa.avx512f;
        // t[2k] = (a[2k][0], a[2k+1][0], a[2k][2], a[2k+1][2], …), t[2k+1] the odd elements.
        let t: [__m512d; LANES] = std::array::from_fn(|i| {
            let (x, y) = (a[i / 2 * 2], a[i / 2 * 2 + 1]);
            if i % 2 == 0 {
                f._mm512_unpacklo_pd(x, y)
            } else {
                f._mm512_unpackhi_pd(x, y)
            }
        });
        // 128-bit lanes 0 and 2 (0x88), or 1 and 3 (0xDD), of each argument.
        let even = |x, y| f._mm512_shuffle_f64x2::<0x88>(x, y);
        let odd = |x, y| f._mm512_shuffle_f64x2::<0xDD>(x, y);
        let u = [
            even(t[0], t[2]),
            odd(t[0], t[2]),
            even(t[1], t[3]),
            odd(t[1], t[3]),
            even(t[4], t[6]),
            odd(t[4], t[6]),
            even(t[5], t[7]),
            odd(t[5], t[7]),
        ];
        [
            even(u[0], u[4]),
            even(u[2], u[6]),
            even(u[1], u[5]),
            even(u[3], u[7]),
            odd(u[0], u[4]),
            odd(u[2], u[6]),
            odd(u[1], u[5]),
            odd(u[3], u[7]),
        ]
    }

    /// Two AVX2 registers.
    #[derive(Clone, Copy)]
    pub(crate) struct Ymm2([__m256d; 2]);

    impl Ymm2 {
        #[inline(always)]
        fn each(a: Self, b: Self, f: impl Fn(__m256d, __m256d) -> __m256d) -> Self {
            Ymm2([f(a.0[0], b.0[0]), f(a.0[1], b.0[1])])
        }
    }

    impl Octet for Ymm2 {
        type Isa = V3;
        const WIDE: bool = false;
        #[inline(always)]
        fn splat(isa: V3, v: f64) -> Self {
            Ymm2([isa.avx._mm256_set1_pd(v); 2])
        }
        #[inline(always)]
        fn load(_: V3, v: [f64; LANES]) -> Self {
            Ymm2(pulp::cast(v))
        }
        #[inline(always)]
        fn lanes(self) -> [f64; LANES] {
            pulp::cast(self.0)
        }
        #[inline(always)]
        fn add(isa: V3, a: Self, b: Self) -> Self {
            Self::each(a, b, |x, y| isa.avx._mm256_add_pd(x, y))
        }
        #[inline(always)]
        fn sub(isa: V3, a: Self, b: Self) -> Self {
            Self::each(a, b, |x, y| isa.avx._mm256_sub_pd(x, y))
        }
        #[inline(always)]
        fn mul_add(isa: V3, a: Self, b: Self, c: Self) -> Self {
            Ymm2([0, 1].map(|h| isa.fma._mm256_fmadd_pd(a.0[h], b.0[h], c.0[h])))
        }
        #[inline(always)]
        fn min(isa: V3, v: Self, m: Self) -> Self {
            Self::each(v, m, |x, y| isa.avx._mm256_min_pd(x, y))
        }
        #[inline(always)]
        fn max(isa: V3, v: Self, m: Self) -> Self {
            Self::each(v, m, |x, y| isa.avx._mm256_max_pd(x, y))
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Ymm2, Zmm};

/// The sum of eight partial sums, in one fixed order.
#[inline(always)]
fn total(v: [f64; LANES]) -> f64 {
    let a: [f64; 4] = std::array::from_fn(|l| v[l] + v[l + 4]);
    (a[0] + a[2]) + (a[1] + a[3])
}

/// Work on a batch in eight lanes, whichever instruction set carries them.
pub(crate) trait Kernel {
    type Output;
    fn run<O: Octet>(self, isa: O::Isa) -> Self::Output;
}

/// `kernel` in the widest instruction set the CPU has.
pub(crate) fn widest<K: Kernel>(kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(isa) = pulp::x86::V4::try_new() {
            return pulp::Simd::vectorize(isa, OnIsa::<Zmm, K>(isa, kernel));
        }
        if let Some(isa) = pulp::x86::V3::try_new() {
            return pulp::Simd::vectorize(isa, OnIsa::<Ymm2, K>(isa, kernel));
        }
    }
    kernel.run::<[f64; LANES]>(())
}

/// A kernel and the instruction set of `O`, as pulp's dispatch takes them: `with_simd` is
/// inlined into a function compiled for that instruction set.
pub(crate) struct OnIsa<O: Octet, K>(pub(crate) O::Isa, pub(crate) K);

impl<O: Octet, K: Kernel> pulp::WithSimd for OnIsa<O, K> {
    type Output = K::Output;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Self::Output {
        self.1.run::<O>(self.0)
    }
}

/// [`pass`], as a [`Kernel`].
/// The ranges of `P` features (smallest, largest).
pub(crate) type Ranges<const P: usize> = ([f64; P], [f64; P]);

/// [`pass`], as a [`Kernel`]: the ranges so far in; the batch's totals, its Gram matrix and the
/// ranges out.
pub(crate) struct Pass<'a, const P: usize> {
    pub(crate) x: Table<'a>,
    pub(crate) y: &'a [f64],
    pub(crate) shift: &'a [f64],
    pub(crate) ranges: Ranges<P>,
}

impl<const P: usize> Kernel for Pass<'_, P> {
    type Output = (PassTotals<P>, Gram<P>, Ranges<P>);

    #[inline(always)]
    fn run<O: Octet>(mut self, isa: O::Isa) -> Self::Output {
        let (totals, gram) = pass::<O, P>(isa, self.x, self.y, self.shift, &mut self.ranges);
        (totals, gram, self.ranges)
    }
}

/// The sums of a batch's `P` ≤ 8 features and of its target, eight rows at a time as [`pass`]
/// takes them, so that rows and columns give the same bits: the first batch's mean, by which it
/// is shifted.
pub(crate) struct ColumnSums<'a, const P: usize> {
    pub(crate) x: Table<'a>,
    pub(crate) y: &'a [f64],
}

impl<const P: usize> Kernel for ColumnSums<'_, P> {
    type Output = ([f64; P], f64);

    #[inline(always)]
    fn run<O: Octet>(self, isa: O::Isa) -> Self::Output {
        let zero = O::splat(isa, 0.0);
        let (mut s, mut sy) = ([zero; P], zero);
        let mut block = [[0.0; BLOCK]; P];
        for (b, yb) in self.y.chunks(BLOCK).enumerate() {
            let columns = block_columns::<O, P>(isa, self.x, (b * BLOCK, yb.len()), &mut block);
            for m in 0..yb.len().div_ceil(LANES) {
                sy = O::add(isa, sy, O::load(isa, group(yb, m, 0.0)));
                for (s, column) in s.iter_mut().zip(columns) {
                    *s = O::add(isa, *s, O::load(isa, group(column, m, 0.0)));
                }
            }
        }
        (s.map(|v| total(v.lanes())), total(sy.lanes()))
    }
}

/// Block `start..start + len` of a batch as columns: a frame's own, or a table's rows copied
/// into `block`.
#[inline(always)]
fn block_columns<'a, O: Octet, const P: usize>(
    isa: O::Isa,
    x: Table<'a>,
    (start, len): (usize, usize),
    block: &'a mut [[f64; BLOCK]; P],
) -> [&'a [f64]; P] {
    match x {
        Table::Rows(x) => {
            O::columns_of_rows::<P>(isa, &x[start * P..(start + len) * P], block);
            let block: &'a [[f64; BLOCK]; P] = block;
            std::array::from_fn(|i| &block[i][..len])
        }
        Table::Columns(columns) => std::array::from_fn(|i| &columns[i][start..start + len]),
    }
}

/// Group `m` of a column, eight rows; a last group of fewer rows filled by `fill`.
#[inline(always)]
fn group(column: &[f64], m: usize, fill: f64) -> [f64; LANES] {
    match column.get(m * LANES..(m + 1) * LANES) {
        Some(v) => v.try_into().expect("eight rows"),
        None => std::array::from_fn(|l| column.get(m * LANES + l).copied().unwrap_or(fill)),
    }
}

/// The unweighted pass over a batch (`y.len()` rows) of `P` ≤ 8 features: their ranges, their
/// sums and products with the target, shifted by `shift`, and the Gram matrix of the shifted
/// features, in blocks of [`BLOCK`] rows, eight rows at a time in eight partial sums.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // index loops over several fixed-width arrays at once
pub(crate) fn pass<O: Octet, const P: usize>(
    isa: O::Isa,
    x: Table<'_>,
    y: &[f64],
    shift: &[f64],
    ranges: &mut Ranges<P>,
) -> (PassTotals<P>, Gram<P>) {
    let zero = O::splat(isa, 0.0);
    let c: [O; P] = std::array::from_fn(|i| O::splat(isa, shift[i]));
    let ty = O::splat(isa, shift[P]);
    let (mut s, mut k) = ([zero; P], [zero; P]);
    let (mut sy, mut yy) = (zero, zero);
    let mut g = [[zero; P]; P];
    let mut lo: [O; P] = std::array::from_fn(|i| O::splat(isa, ranges.0[i]));
    let mut hi: [O; P] = std::array::from_fn(|i| O::splat(isa, ranges.1[i]));
    // A table's block of rows as columns; the block's shifted columns, by groups of eight rows.
    let mut block = [[0.0; BLOCK]; P];
    let mut z = [[[0.0; LANES]; BLOCK / LANES]; P];
    for (b, yb) in y.chunks(BLOCK).enumerate() {
        let len = yb.len();
        let columns = block_columns::<O, P>(isa, x, (b * BLOCK, len), &mut block);
        let groups = len.div_ceil(LANES).min(BLOCK / LANES);
        // The ranges, a last group filled by the block's first row (already counted).
        for m in 0..groups {
            for i in 0..P {
                let v = O::load(isa, group(columns[i], m, columns[i][0]));
                lo[i] = O::min(isa, v, lo[i]);
                hi[i] = O::max(isa, v, hi[i]);
            }
        }
        // Shifted (a last group filled by the shift itself: zeros), summed, and times the target;
        // the block's partial sums, then the batch's (a sum's rounding error grows with the terms
        // added in one run).
        let (mut bs, mut bk) = ([zero; P], [zero; P]);
        let (mut by, mut byy) = (zero, zero);
        for m in 0..groups {
            let dy = O::sub(isa, O::load(isa, group(yb, m, shift[P])), ty);
            by = O::add(isa, by, dy);
            byy = O::mul_add(isa, dy, dy, byy);
            for i in 0..P {
                let d = O::sub(isa, O::load(isa, group(columns[i], m, shift[i])), c[i]);
                z[i][m] = d.lanes();
                bs[i] = O::add(isa, bs[i], d);
                bk[i] = O::mul_add(isa, d, dy, bk[i]);
            }
        }
        for i in 0..P {
            s[i] = O::add(isa, s[i], bs[i]);
            k[i] = O::add(isa, k[i], bk[i]);
        }
        sy = O::add(isa, sy, by);
        yy = O::add(isa, yy, byy);
        gram::<O, P>(isa, &z, groups, &mut g);
    }
    *ranges = (
        lo.map(|v| extreme(v.lanes(), |a, b| a < b)),
        hi.map(|v| extreme(v.lanes(), |a, b| a > b)),
    );
    let mut gram = [[0.0; P]; P];
    for i in 0..P {
        for j in i..P {
            gram[i][j] = total(g[i][j].lanes());
            gram[j][i] = gram[i][j];
        }
    }
    let totals = (
        s.map(|v| total(v.lanes())),
        k.map(|v| total(v.lanes())),
        total(sy.lanes()),
        total(yy.lanes()),
    );
    (totals, gram)
}

/// The lane `beats` all others (the smallest or the largest), the first of equals.
#[inline(always)]
fn extreme(v: [f64; LANES], beats: impl Fn(f64, f64) -> bool) -> f64 {
    v.into_iter()
        .fold(v[0], |m, x| if beats(x, m) { x } else { m })
}

/// The Gram matrix of a block's shifted columns `z` (`groups` of eight rows), on and above the
/// diagonal, added to the partial sums `g`: in two bands of rows where the registers hold a
/// band's partial sums ([`Octet::WIDE`]), else four entries of a row at a time.
#[inline(always)]
fn gram<O: Octet, const P: usize>(
    isa: O::Isa,
    z: &[[[f64; LANES]; BLOCK / LANES]; P],
    groups: usize,
    g: &mut [[O; P]; P],
) {
    if O::WIDE {
        let split = if P > 5 { P * 3 / 8 } else { P };
        band::<O, P, 21>(isa, z, groups, (0, split), (0, P), g);
        band::<O, P, 21>(isa, z, groups, (split, P), (0, P), g);
    } else {
        for i in 0..P {
            for j in (i..P).step_by(4) {
                band::<O, P, 4>(isa, z, groups, (i, i + 1), (j, (j + 4).min(P)), g);
            }
        }
    }
}

/// Entries `(i, j)`, `i` in `rows`, `j ≥ i` in `columns` (at most `N` of them), of the Gram
/// matrix of `z`, added to `g`.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // index loops over several fixed-width arrays at once
fn band<O: Octet, const P: usize, const N: usize>(
    isa: O::Isa,
    z: &[[[f64; LANES]; BLOCK / LANES]; P],
    groups: usize,
    rows: (usize, usize),
    columns: (usize, usize),
    g: &mut [[O; P]; P],
) {
    let mut acc = [O::splat(isa, 0.0); N];
    for m in 0..groups {
        let mut e = 0;
        for i in rows.0..rows.1 {
            let zi = O::load(isa, z[i][m]);
            for j in i.max(columns.0)..columns.1 {
                acc[e] = O::mul_add(isa, zi, O::load(isa, z[j][m]), acc[e]);
                e += 1;
            }
        }
    }
    let mut e = 0;
    for i in rows.0..rows.1 {
        for j in i.max(columns.0)..columns.1 {
            g[i][j] = O::add(isa, g[i][j], acc[e]);
            e += 1;
        }
    }
}

/// A block of rows (`P` wide) into columns. Not inlined into the SIMD pass: there, LLVM would
/// write each row with a scatter.
#[inline(never)]
fn columns_of_rows<const P: usize>(rows: &[f64], block: &mut [[f64; BLOCK]; P]) {
    for (r, row) in rows.as_chunks::<P>().0.iter().enumerate().take(BLOCK) {
        for i in 0..P {
            block[i][r] = row[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` rows of `P` features of different scales and offsets, and a target; the second
    /// feature is 0 in the first row and −0 in every sixteenth from the ninth (its smallest
    /// values, in one lane: which of them a minimum keeps is the instructions' `v < m ? v : m`).
    fn rows<const P: usize>(n: usize) -> (Vec<f64>, Vec<f64>) {
        let x = (0..n * P)
            .map(|i| match (i % P, i / P) {
                (1, 0) => 0.0,
                (1, r) if r % 16 == 8 => -0.0,
                _ => {
                    ((i * 7919 % 1013) as f64 / 7.0 - 70.0) * 10f64.powi((i % P) as i32 % 7 - 3)
                        + (i % P) as f64 * 1e3
                }
            })
            .collect();
        let y = (0..n)
            .map(|r| (r * 104_729 % 997) as f64 * 0.013 - 5.0)
            .collect();
        (x, y)
    }

    fn columns_of<const P: usize>(x: &[f64]) -> Vec<Vec<f64>> {
        (0..P)
            .map(|j| x.chunks_exact(P).map(|row| row[j]).collect())
            .collect()
    }

    /// Everything a pass gives, as bits.
    fn bits<const P: usize>(
        (s, k, sy, yy): PassTotals<P>,
        g: Gram<P>,
        (lo, hi): Ranges<P>,
    ) -> Vec<u64> {
        [&s[..], &k, &[sy, yy], g.as_flattened(), &lo, &hi]
            .concat()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    }

    fn start<const P: usize>() -> Ranges<P> {
        ([f64::INFINITY; P], [f64::NEG_INFINITY; P])
    }

    /// What two kernels found, by instruction set.
    type Found<A, B> = Vec<(&'static str, (<A as Kernel>::Output, <B as Kernel>::Output))>;

    /// Two kernels run in SSE2 (eight scalars), and in AVX2 and AVX-512 where the CPU has them.
    fn every_isa<A: Kernel, B: Kernel>(kernels: impl Fn() -> (A, B)) -> Found<A, B> {
        let both = |(a, b): (A, B)| (a.run::<[f64; LANES]>(()), b.run::<[f64; LANES]>(()));
        let mut found = vec![("SSE2", both(kernels()))];
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(isa) = pulp::x86::V3::try_new() {
                let (a, b) = kernels();
                let a = pulp::Simd::vectorize(isa, OnIsa::<Ymm2, A>(isa, a));
                let b = pulp::Simd::vectorize(isa, OnIsa::<Ymm2, B>(isa, b));
                found.push(("AVX2", (a, b)));
            }
            if let Some(isa) = pulp::x86::V4::try_new() {
                let (a, b) = kernels();
                let a = pulp::Simd::vectorize(isa, OnIsa::<Zmm, A>(isa, a));
                let b = pulp::Simd::vectorize(isa, OnIsa::<Zmm, B>(isa, b));
                found.push(("AVX-512", (a, b)));
            }
        }
        found
    }

    /// Rows and columns, in SSE2 (eight scalars), AVX2 and AVX-512 where the CPU has them: the
    /// same bits, for every width and a batch whose last block and last group are partial.
    #[test]
    fn every_instruction_set_and_layout_gives_the_same_bits() {
        fn compare<const P: usize>() {
            let n = 2_003;
            let (x, y) = rows::<P>(n);
            let columns = columns_of::<P>(&x);
            let columns: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
            let shift: Vec<f64> = (0..=P).map(|j| j as f64 * 1e3 + 0.1).collect();
            let mut passes: Vec<(String, Vec<u64>)> = Vec::new();
            for (layout, x) in [
                ("rows", Table::Rows(&x)),
                ("columns", Table::Columns(&columns)),
            ] {
                let y = &y[..];
                let (shift, ranges) = (&shift[..], start::<P>());
                for (isa, ((totals, gram, ranges), (sums, sum_y))) in every_isa(|| {
                    (
                        Pass::<P> {
                            x,
                            y,
                            shift,
                            ranges,
                        },
                        ColumnSums::<P> { x, y },
                    )
                }) {
                    let mut found = bits(totals, gram, ranges);
                    found.extend(sums.iter().chain([&sum_y]).map(|v| v.to_bits()));
                    passes.push((format!("{layout} in {isa}"), found));
                }
            }
            for (what, found) in &passes[1..] {
                assert_eq!(found, &passes[0].1, "{P} features: {what}");
            }
            eprintln!("{P} features: {} passes alike", passes.len());
        }
        compare::<1>();
        compare::<2>();
        compare::<5>();
        compare::<6>();
        compare::<7>();
        compare::<8>();
    }

    /// The pass's sums equal sums taken one row after another to 1e-12 (relative to the sum of
    /// magnitudes), its ranges exactly, whatever the rows' count (the groups of eight filled).
    #[test]
    #[allow(clippy::needless_range_loop)] // the Gram matrix's indices name its entries
    fn the_pass_equals_plain_sums_at_every_row_count() {
        const P: usize = 3;
        for n in [1, 2, 7, 8, 9, 63, 64, 65, 130, 2_048] {
            let (x, y) = rows::<P>(n);
            let shift = [2.5, 1e3 - 0.5, 2e3, 0.25];
            let x = Table::Rows(&x[..]);
            let ((s, k, sy, yy), g, ranges) = widest(Pass::<P> {
                x,
                y: &y,
                shift: &shift,
                ranges: start::<P>(),
            });
            let (sums, sum_y) = widest(ColumnSums::<P> { x, y: &y });
            let Table::Rows(x) = x else { unreachable!() };
            let z = |r: usize, i: usize| {
                if i < P {
                    x[r * P + i] - shift[i]
                } else {
                    y[r] - shift[P]
                }
            };
            let near = |found: f64, terms: &dyn Fn(usize) -> f64, what: &str| {
                let (sum, size) =
                    (0..n).fold((0.0, 0.0), |(a, m), r| (a + terms(r), m + terms(r).abs()));
                assert!(
                    (found - sum).abs() <= 1e-12 * size.max(1e-300),
                    "{what}, {n} rows: {found} against {sum}"
                );
            };
            for i in 0..P {
                near(s[i], &|r| z(r, i), "sum");
                near(k[i], &|r| z(r, i) * z(r, P), "product with the target");
                for j in 0..P {
                    near(g[i][j], &|r| z(r, i) * z(r, j), "Gram matrix");
                }
                let column = x.iter().skip(i).step_by(P);
                assert_eq!(
                    ranges.0[i],
                    column.clone().copied().fold(f64::INFINITY, f64::min)
                );
                assert_eq!(
                    ranges.1[i],
                    column.copied().fold(f64::NEG_INFINITY, f64::max)
                );
            }
            for i in 0..P {
                near(sums[i], &|r| x[r * P + i], "unshifted sum");
            }
            near(sum_y, &|r| y[r], "target's unshifted sum");
            near(sy, &|r| z(r, P), "target's sum");
            near(yy, &|r| z(r, P) * z(r, P), "target's sum of squares");
        }
    }
}
