//! Training distributions and drift: a column's histogram over its training quantiles, with
//! its count, mean, standard deviation and range ([`Distribution`]); new values counted into
//! the same bins ([`Tally`], mergeable, constant memory); and the measures that compare the two
//! ([`Drift`]): population stability index, Kolmogorov–Smirnov, Wasserstein-1 over the training
//! standard deviation, the share outside the training range and the mean shift.
//!
//! The bins are `B` (default [`DEFAULT_BINS`]) intervals between `B − 1` interior edges at the
//! training values' quantiles `1/B … (B−1)/B` (NumPy's default, linear interpolation), rounded
//! to `f32` to keep model files small; the training counts are exact for the rounded edges.
//! The outer bins are open, `(−∞, e₁)` and `[e_{B−1}, ∞)`, so every new value falls in one.
//! Tied quantiles (a column of few distinct values) give fewer bins.
//!
//! What the bins determine exactly, they give exactly: the PSI over these bins, and the largest
//! gap between the two empirical distribution functions at the edges. The full-data
//! Kolmogorov–Smirnov statistic and Wasserstein distance also depend on where values lie within
//! bins: [`Drift`] gives the KS statistic's exact bracket and the Wasserstein distance of the
//! histograms (mass spread evenly within each bin) with a bound on its error.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Bins of a training histogram unless asked otherwise.
pub const DEFAULT_BINS: usize = 32;

/// The smallest share a bin counts with in the PSI: an empty bin would make it infinite
/// (Evidently's and NannyML's floor).
pub const PSI_FLOOR: f64 = 1e-4;

/// A column's training distribution: count, moments, range and histogram.
///
/// In a file the counts are stored as their differences from an even share of the count
/// ([`Stored`]): quantile bins hold nearly even shares, so each difference takes a byte where
/// a count takes three (California's model file: 4.1 KB → 3.5 KB).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Stored", try_from = "Stored")]
pub struct Distribution {
    count: u64,
    mean: f64,
    /// Population standard deviation (divided by n), as Evidently scales Wasserstein by.
    std: f64,
    min: f64,
    max: f64,
    /// Interior edges, strictly increasing: bin `i` is `[edges[i−1], edges[i])`.
    edges: Vec<f32>,
    /// Training values per bin: `edges.len() + 1` of them.
    counts: Vec<u64>,
    /// The means of the training values in the two outer bins (the tails, whose widths the
    /// edges do not bound).
    outer_means: [f64; 2],
}

/// A [`Distribution`] as a file holds it: the counts as differences from [`even_shares`].
#[derive(Serialize, Deserialize)]
struct Stored {
    count: u64,
    mean: f64,
    std: f64,
    min: f64,
    max: f64,
    edges: Vec<f32>,
    differences: Vec<i64>,
    outer_means: [f64; 2],
}

/// `count` split as evenly as whole numbers allow over `bins` bins.
fn even_shares(count: u64, bins: usize) -> impl Iterator<Item = u64> {
    let k = bins as u128;
    (0..k).map(move |i| ((i + 1) * u128::from(count) / k - i * u128::from(count) / k) as u64)
}

impl From<Distribution> for Stored {
    fn from(d: Distribution) -> Self {
        let even = even_shares(d.count, d.counts.len());
        Self {
            differences: d
                .counts
                .iter()
                .zip(even)
                .map(|(&c, e)| c as i64 - e as i64)
                .collect(),
            count: d.count,
            mean: d.mean,
            std: d.std,
            min: d.min,
            max: d.max,
            edges: d.edges,
            outer_means: d.outer_means,
        }
    }
}

impl TryFrom<Stored> for Distribution {
    type Error = String;

    fn try_from(s: Stored) -> std::result::Result<Self, String> {
        let even = even_shares(s.count, s.differences.len());
        let counts = s
            .differences
            .iter()
            .zip(even)
            .map(|(&d, e)| u64::try_from(e as i64 + d).ok())
            .collect::<Option<Vec<u64>>>()
            .ok_or("a training distribution has a negative count")?;
        Ok(Self {
            count: s.count,
            mean: s.mean,
            std: s.std,
            min: s.min,
            max: s.max,
            edges: s.edges,
            counts,
            outer_means: s.outer_means,
        })
    }
}

impl Distribution {
    /// The distribution of `values` (finite, at least one) over `bins` quantile bins, exact:
    /// the values are sorted once.
    pub fn of(values: &[f64], bins: usize) -> Result<Self> {
        if values.is_empty() {
            return Err(Error::Drift("an empty column has no distribution".into()));
        }
        if !(2..=1024).contains(&bins) {
            return Err(Error::Drift(format!(
                "{bins} bins: a training histogram has 2 to 1024"
            )));
        }
        if let Some(row) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "value",
                row,
                column: 0,
                value: values[row],
            });
        }
        let sorted = sorted(values);
        let n = sorted.len();
        let mut edges: Vec<f32> = (1..bins)
            .map(|i| quantile(&sorted, i as f64 / bins as f64) as f32)
            .collect();
        edges.dedup();
        // A rounded edge at or below the minimum leaves its bin empty of training values:
        // dropped (the outer bin takes its place), as is one above the maximum.
        edges.retain(|&e| f64::from(e) > sorted[0] && f64::from(e) <= sorted[n - 1]);
        let mut counts = vec![0_u64; edges.len() + 1];
        let mut start = 0;
        for (bin, &edge) in edges.iter().enumerate() {
            let end = sorted.partition_point(|&v| v < f64::from(edge));
            counts[bin] = (end - start) as u64;
            start = end;
        }
        counts[edges.len()] = (n - start) as u64;
        let (first, last) = (counts[0] as usize, counts[edges.len()] as usize);
        let outer_means = [mean(&sorted[..first]), mean(&sorted[n - last..])];
        let mean = mean(&sorted);
        let variance = sorted.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        Ok(Self {
            count: n as u64,
            mean,
            std: variance.sqrt(),
            min: sorted[0],
            max: sorted[n - 1],
            edges,
            counts,
            outer_means,
        })
    }

    /// A distribution from its parts (a [`Sketch`](crate::Sketch)'s), checked.
    pub(crate) fn from_parts(
        count: u64,
        mean: f64,
        std: f64,
        [min, max]: [f64; 2],
        edges: Vec<f32>,
        counts: Vec<u64>,
        outer_means: [f64; 2],
    ) -> Result<Self> {
        let d = Self {
            count,
            mean,
            std,
            min,
            max,
            edges,
            counts,
            outer_means,
        };
        d.validate()?;
        Ok(d)
    }

    /// Training values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Their mean.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Their population standard deviation.
    pub fn std(&self) -> f64 {
        self.std
    }

    /// Smallest training value.
    pub fn min(&self) -> f64 {
        self.min
    }

    /// Largest training value.
    pub fn max(&self) -> f64 {
        self.max
    }

    /// The interior bin edges.
    pub fn edges(&self) -> &[f32] {
        &self.edges
    }

    /// Training values per bin.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The bin `value` falls in.
    pub fn bin(&self, value: f64) -> usize {
        // Branchless: the halving steps depend on the edges' count only, so a server's stream
        // of values costs no mispredicted branches (a third of a count's time with them).
        let edges = &self.edges;
        let (mut base, mut size) = (0, edges.len());
        while size > 1 {
            let half = size / 2;
            base = if f64::from(edges[base + half]) <= value {
                base + half
            } else {
                base
            };
            size -= half;
        }
        base + usize::from(edges.get(base).is_some_and(|&e| f64::from(e) <= value))
    }

    /// An empty tally of new values against this distribution.
    pub fn tally(&self) -> Tally {
        Tally {
            counts: vec![0; self.counts.len()],
            sums: vec![0.0; self.counts.len()],
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            below: 0,
            above: 0,
        }
    }

    /// How `new` (a tally of this distribution's bins) drifted from it.
    pub fn drift(&self, new: &Tally) -> Result<Drift> {
        if new.counts.len() != self.counts.len() {
            return Err(Error::Shape {
                what: "bins of the tally",
                expected: self.counts.len(),
                got: new.counts.len(),
            });
        }
        if new.count == 0 {
            return Err(Error::Drift("no new values to compare".into()));
        }
        let (n_ref, n_new) = (self.count as f64, new.count as f64);
        let share = |c: &[u64], n: f64| -> Vec<f64> { c.iter().map(|&c| c as f64 / n).collect() };
        let (p, q) = (share(&self.counts, n_ref), share(&new.counts, n_new));
        let psi = p
            .iter()
            .zip(&q)
            .map(|(&p, &q)| {
                let (p, q) = (p.max(PSI_FLOOR), q.max(PSI_FLOOR));
                (q - p) * (q / p).ln()
            })
            .sum();
        // Cumulative shares below each edge, from the counts (exact up to the division).
        let below = |c: &[u64], n: f64| -> Vec<f64> {
            let mut acc = 0;
            std::iter::once(0.0)
                .chain(c.iter().map(|&c| {
                    acc += c;
                    acc as f64 / n
                }))
                .collect()
        };
        let (fp, fq) = (below(&self.counts, n_ref), below(&new.counts, n_new));
        let inner = 1..fp.len() - 1;
        let ks = inner.map(|i| (fp[i] - fq[i]).abs()).fold(0.0_f64, f64::max);
        let ks_upper = (0..self.counts.len())
            .map(|b| (fp[b + 1] - fq[b]).max(fq[b + 1] - fp[b]))
            .fold(0.0_f64, f64::max);
        let (wasserstein, bound) = wasserstein(self, new);
        let scale = if self.std > 0.0 { self.std } else { f64::NAN };
        Ok(Drift {
            psi,
            ks,
            ks_upper,
            wasserstein: wasserstein / scale,
            wasserstein_bound: bound / scale,
            out_of_range: (new.below + new.above) as f64 / n_new,
            mean_shift: (new.mean() - self.mean) / scale,
            rows: new.count,
            new_mean: new.mean(),
        })
    }
}

/// A model's training distributions: each feature's (in the model's order), the target's, and
/// the training predictions'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingDistributions {
    /// One per feature, in coefficient order.
    pub features: Vec<Distribution>,
    /// The target's.
    pub target: Distribution,
    /// The model's predictions of its training rows: `None` where they were never seen (a
    /// model fitted from statistics files).
    pub prediction: Option<Distribution>,
}

impl TrainingDistributions {
    /// The distributions of the training rows' features (one column each, in the model's
    /// order), target and predictions, over `bins` quantile bins each (exact: in memory).
    pub fn of(
        features: &[Vec<f64>],
        target: &[f64],
        prediction: &[f64],
        bins: usize,
    ) -> Result<Self> {
        let columns: Vec<&[f64]> = features
            .iter()
            .map(Vec::as_slice)
            .chain([target, prediction])
            .collect();
        // The columns are independent: half of them on a second thread.
        let (first, second) = columns.split_at(columns.len() / 2);
        let of = |part: &[&[f64]]| -> Result<Vec<Distribution>> {
            part.iter().map(|c| Distribution::of(c, bins)).collect()
        };
        let (mine, theirs) = std::thread::scope(|scope| {
            let other = scope.spawn(|| of(second));
            (of(first), other.join())
        });
        let theirs = theirs.map_err(|_| Error::Drift("a thread sorting a column failed".into()))?;
        let mut all = mine?;
        all.extend(theirs?);
        match (all.pop(), all.pop()) {
            (Some(prediction), Some(target)) => Ok(Self {
                features: all,
                target,
                prediction: Some(prediction),
            }),
            _ => Err(Error::Drift("no target or prediction column".into())),
        }
    }

    /// The distributions of sketched columns (each feature's, then the target's, as
    /// [`SufficientStats::sketches`](crate::SufficientStats::sketches) holds them) and of the
    /// training predictions' sketch where there is one ([`Distribution::of_sketch`]).
    pub fn of_sketches(
        columns: &[crate::Sketch],
        prediction: Option<&crate::Sketch>,
        bins: usize,
    ) -> Result<Self> {
        let Some((target, features)) = columns.split_last() else {
            return Err(Error::Drift("no sketched columns".into()));
        };
        Ok(Self {
            features: features
                .iter()
                .map(|s| Distribution::of_sketch(s, bins))
                .collect::<Result<_>>()?,
            target: Distribution::of_sketch(target, bins)?,
            prediction: prediction
                .map(|s| Distribution::of_sketch(s, bins))
                .transpose()?,
        })
    }

    /// Check a value read from a file: one distribution per feature, each well formed.
    pub fn validate(&self, features: usize) -> Result<()> {
        if self.features.len() != features {
            return Err(Error::Format(format!(
                "the model's training distributions are of {} features, not {features}",
                self.features.len()
            )));
        }
        self.features
            .iter()
            .chain([&self.target])
            .chain(&self.prediction)
            .try_for_each(Distribution::validate)
    }
}

impl Distribution {
    /// Check a value read from a file: finite numbers, increasing edges, one count per bin
    /// adding up to the count.
    fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::Format(format!("a training distribution {what}")));
        let numbers = [self.mean, self.std, self.min, self.max];
        if !numbers
            .iter()
            .chain(&self.outer_means)
            .all(|v| v.is_finite())
        {
            return bad("has a number that is not finite");
        }
        if !self.edges.windows(2).all(|e| e[0] < e[1]) || !self.edges.iter().all(|e| e.is_finite())
        {
            return bad("has edges that do not increase");
        }
        if self.counts.len() != self.edges.len() + 1
            || self.counts.iter().sum::<u64>() != self.count
            || self.count == 0
        {
            return bad("has counts that do not match its bins or its count");
        }
        Ok(())
    }
}

/// New values counted into a [`Distribution`]'s bins, with their moments and range: constant
/// memory, and [`merge`](Tally::merge)able (chunks, workers, a server's minutes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    counts: Vec<u64>,
    /// The values' sum per bin (their mean is these summed over the count).
    sums: Vec<f64>,
    count: u64,
    min: f64,
    max: f64,
    /// Values below the training minimum, and above the training maximum.
    below: u64,
    above: u64,
}

impl Tally {
    /// Count `value` (finite: the caller has checked) against `reference`'s bins.
    pub fn push(&mut self, reference: &Distribution, value: f64) {
        let bin = reference.bin(value);
        self.counts[bin] += 1;
        self.sums[bin] += value;
        self.count += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.below += u64::from(value < reference.min);
        self.above += u64::from(value > reference.max);
    }

    /// Add `other`'s values (counted against the same distribution), as if pushed here.
    pub fn merge(&mut self, other: &Tally) {
        self.count += other.count;
        for (c, o) in self.counts.iter_mut().zip(&other.counts) {
            *c += o;
        }
        for (s, o) in self.sums.iter_mut().zip(&other.sums) {
            *s += o;
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.below += other.below;
        self.above += other.above;
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Values per bin.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Their mean (NaN of none).
    pub fn mean(&self) -> f64 {
        self.sums.iter().sum::<f64>() / self.count as f64
    }
}

/// How new values stand against a training distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Population stability index over the training bins (shares floored at [`PSI_FLOOR`]).
    pub psi: f64,
    /// The largest gap between the two empirical distribution functions at the bin edges: the
    /// Kolmogorov–Smirnov statistic of the binned values, and a lower bound on the full one.
    pub ks: f64,
    /// An upper bound on the full Kolmogorov–Smirnov statistic (the largest gap any values
    /// with these bin counts could have).
    pub ks_upper: f64,
    /// Wasserstein-1 distance of the two histograms (each inner bin's values spread evenly
    /// over it, each outer bin's at their mean), over the training standard deviation.
    pub wasserstein: f64,
    /// A bound on how far the full-data Wasserstein-1 distance (over the same standard
    /// deviation) can lie from `wasserstein` (see `quantile_pieces`).
    pub wasserstein_bound: f64,
    /// Share of the new values outside the training range.
    pub out_of_range: f64,
    /// (new mean − training mean) / training standard deviation.
    pub mean_shift: f64,
    /// New values compared.
    pub rows: u64,
    /// Their mean.
    pub new_mean: f64,
}

/// `values` (finite) in increasing order: sorted as integers whose order is the numbers' (the
/// sign bit flipped, and for negative numbers every bit), several times faster than comparing
/// floating-point numbers.
fn sorted(values: &[f64]) -> Vec<f64> {
    const SIGN: u64 = 1 << 63;
    let mut keys: Vec<u64> = values
        .iter()
        .map(|v| {
            let b = v.to_bits();
            if b & SIGN == 0 { b | SIGN } else { !b }
        })
        .collect();
    keys.sort_unstable();
    keys.into_iter()
        .map(|k| f64::from_bits(if k & SIGN != 0 { k & !SIGN } else { !k }))
        .collect()
}

/// NumPy's default quantile (linear interpolation between order statistics) of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, frac) = (h.floor() as usize, h - h.floor());
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
}

/// The mean, in four partial sums (0 of none).
fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut s = [0.0; 4];
    for (i, &v) in values.iter().enumerate() {
        s[i % 4] += v;
    }
    s.iter().sum::<f64>() / values.len() as f64
}

/// A stretch of a quantile function: over shares `[u0, u1)` it runs linearly from `x0` to
/// `x1` (a bin's values spread evenly over it), or stays at `x0 = x1` (a tail's values at
/// their mean).
#[derive(Clone, Copy)]
struct Piece {
    u0: f64,
    u1: f64,
    x0: f64,
    x1: f64,
}

impl Piece {
    fn at(&self, u: f64) -> f64 {
        let w = self.u1 - self.u0;
        if w > 0.0 {
            self.x0 + (self.x1 - self.x0) * (u - self.u0) / w
        } else {
            self.x0
        }
    }
}

/// A histogram as a quantile function, with a bound on its Wasserstein-1 distance from the
/// values it summarises: inner bins spread evenly over `[e, e′)` (a bin of share `m` and
/// width `w` is at most `m·w` from its values), the outer bins as a point at their values'
/// mean `μ` (at most `m` times the largest mean absolute deviation of values within `[a, b]`
/// with that mean, `2(μ − a)(b − μ)/(b − a)`).
fn quantile_pieces(
    edges: &[f32],
    shares: &[f64],
    outer_means: [f64; 2],
    (lo, hi): (f64, f64),
) -> (Vec<Piece>, f64) {
    let k = edges.len();
    let edge = |i: usize| f64::from(edges[i]);
    let mad_max = |mu: f64, a: f64, b: f64| {
        if b > a {
            (2.0 * (mu - a) * (b - mu) / (b - a)).max(0.0)
        } else {
            0.0
        }
    };
    let (mut pieces, mut bound, mut u) = (Vec::with_capacity(k + 1), 0.0, 0.0);
    for (bin, &m) in shares.iter().enumerate() {
        if m == 0.0 {
            continue;
        }
        let piece = if k == 0 {
            bound += m * mad_max(outer_means[0], lo, hi);
            (outer_means[0], outer_means[0])
        } else if bin == 0 {
            bound += m * mad_max(outer_means[0], lo, edge(0));
            (outer_means[0], outer_means[0])
        } else if bin == k {
            bound += m * mad_max(outer_means[1], edge(k - 1), hi);
            (outer_means[1], outer_means[1])
        } else {
            bound += m * (edge(bin) - edge(bin - 1));
            (edge(bin - 1), edge(bin))
        };
        pieces.push(Piece {
            u0: u,
            u1: u + m,
            x0: piece.0,
            x1: piece.1,
        });
        u += m;
    }
    (pieces, bound)
}

/// The Wasserstein-1 distance between the training histogram and the new one,
/// `∫₀¹ |Q_ref(u) − Q_new(u)| du` over their quantile functions ([`quantile_pieces`]), and
/// the bound on its distance from the full data's: the sum of the two histograms' bounds
/// (the triangle inequality).
fn wasserstein(reference: &Distribution, new: &Tally) -> (f64, f64) {
    let shares =
        |c: &[u64], n: u64| -> Vec<f64> { c.iter().map(|&c| c as f64 / n as f64).collect() };
    let k = reference.edges.len();
    let new_means = [
        new.sums[0] / new.counts[0].max(1) as f64,
        new.sums[k] / new.counts[k].max(1) as f64,
    ];
    let (p, bp) = quantile_pieces(
        &reference.edges,
        &shares(&reference.counts, reference.count),
        reference.outer_means,
        (reference.min, reference.max),
    );
    let (q, bq) = quantile_pieces(
        &reference.edges,
        &shares(&new.counts, new.count),
        new_means,
        (new.min, new.max),
    );
    // The shares where either function changes piece; both are linear between them.
    let mut us: Vec<f64> = p.iter().chain(&q).flat_map(|s| [s.u0, s.u1]).collect();
    us.push(0.0);
    us.push(1.0);
    us.sort_unstable_by(f64::total_cmp);
    us.dedup();
    let value = |pieces: &[Piece], u: f64, right: bool| -> f64 {
        // The piece holding u: for the left end of an interval the one starting at or before
        // it, for the right end the one ending at or after it.
        let i = if right {
            pieces.partition_point(|s| s.u1 < u)
        } else {
            pieces.partition_point(|s| s.u1 <= u)
        };
        pieces[i.min(pieces.len() - 1)].at(u)
    };
    let mut distance = 0.0;
    for w in us.windows(2) {
        let (a, b) = (w[0], w[1].min(1.0));
        if b <= a {
            continue;
        }
        let da = value(&p, a, false) - value(&q, a, false);
        let db = value(&p, b, true) - value(&q, b, true);
        let width = b - a;
        distance += if da * db >= 0.0 {
            0.5 * width * (da.abs() + db.abs())
        } else {
            // The difference crosses zero inside: two triangles.
            0.5 * width * (da * da + db * db) / (da.abs() + db.abs())
        };
    }
    (distance, bp + bq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, f: impl Fn(usize) -> f64) -> Vec<f64> {
        (0..n).map(f).collect()
    }

    #[test]
    fn quantile_bins_hold_equal_shares_and_every_value() {
        let v = values(1000, |i| ((i * 7919) % 1000) as f64 * 0.5);
        let d = Distribution::of(&v, 32).unwrap();
        assert_eq!(d.edges().len(), 31);
        assert_eq!(d.counts().iter().sum::<u64>(), 1000);
        assert!(
            d.counts().iter().all(|&c| (31..=32).contains(&c)),
            "{:?}",
            d.counts()
        );
        assert_eq!((d.min(), d.max()), (0.0, 499.5));
        let mut tally = d.tally();
        for &x in &v {
            tally.push(&d, x);
        }
        assert_eq!(tally.counts(), d.counts());
        let same = d.drift(&tally).unwrap();
        assert_eq!((same.psi, same.ks, same.out_of_range), (0.0, 0.0, 0.0));
        assert!(same.wasserstein.abs() < 1e-15 && same.mean_shift.abs() < 1e-12);
    }

    #[test]
    fn the_branchless_search_finds_each_values_bin() {
        for distinct in [1, 2, 3, 5, 17, 40, 1000] {
            let v = values(1000, |i| (i % distinct) as f64 * 0.5);
            let d = Distribution::of(&v, 32).unwrap();
            let probes = d.edges().iter().flat_map(|&e| {
                let e = f64::from(e);
                [e, e - 1e-9, e + 1e-9]
            });
            for x in probes.chain([-1e300, -1.0, 0.0, 0.25, 1e300]) {
                let expected = d.edges().partition_point(|&e| f64::from(e) <= x);
                assert_eq!(d.bin(x), expected, "{x} among {:?}", d.edges());
            }
        }
    }

    #[test]
    fn sorting_as_integers_is_sorting_as_numbers() {
        let v = [
            3.5, -0.0, 0.0, -2.25, 1e300, -1e-300, 5e-324, -7.0, 2.0, 2.0,
        ];
        let mut expected = v.to_vec();
        expected.sort_by(f64::total_cmp);
        assert_eq!(sorted(&v), expected);
    }

    #[test]
    fn few_distinct_values_give_fewer_bins() {
        let v = values(100, |i| (i % 3) as f64);
        let d = Distribution::of(&v, 32).unwrap();
        assert_eq!(d.edges(), &[1.0, 2.0]);
        assert_eq!(d.counts(), &[34, 33, 33]);
    }

    #[test]
    fn tallies_merge_as_one() {
        let d = Distribution::of(&values(500, |i| i as f64), 8).unwrap();
        let (mut all, mut a, mut b) = (d.tally(), d.tally(), d.tally());
        for i in 0..700 {
            let x = (i as f64) * 0.9 - 50.0;
            all.push(&d, x);
            if i < 300 {
                a.push(&d, x)
            } else {
                b.push(&d, x)
            }
        }
        a.merge(&b);
        assert_eq!(
            (a.counts(), a.count(), a.below, a.above),
            (all.counts(), all.count(), all.below, all.above)
        );
        assert!((a.mean() - all.mean()).abs() < 1e-12);
    }

    #[test]
    fn files_keep_the_counts_as_differences_from_even_shares() {
        let skewed = values(1000, |i| if i < 400 { 1.0 } else { i as f64 });
        for v in [values(1000, |i| ((i * 7919) % 1000) as f64), skewed] {
            let d = Distribution::of(&v, 32).unwrap();
            let bytes = rmp_serde::to_vec(&d).unwrap();
            let back: Distribution = rmp_serde::from_slice(&bytes).unwrap();
            assert_eq!(back, d);
        }
        // A count below zero is refused, not wrapped.
        let mut stored = Stored::from(Distribution::of(&[1.0, 2.0, 3.0, 4.0], 2).unwrap());
        stored.differences[0] = -5;
        assert!(Distribution::try_from(stored).is_err());
    }

    #[test]
    fn empty_and_non_finite_are_refused() {
        assert!(Distribution::of(&[], 32).is_err());
        assert!(Distribution::of(&[1.0, f64::NAN], 32).is_err());
        let d = Distribution::of(&[1.0, 2.0, 3.0], 4).unwrap();
        assert!(d.drift(&d.tally()).is_err());
    }
}
