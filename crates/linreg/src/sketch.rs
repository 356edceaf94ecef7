//! A column's mergeable sketch, for training distributions where the rows are not held at once
//! (streaming, statistics files, Dask, Spark): counts in log-linear buckets, with the count,
//! moments and range exact.
//!
//! A value's bucket is its `f64` bit pattern, ordered and cut to the sign, the exponent and the
//! top [`MANTISSA_BITS`] of the mantissa: each power of two is split into 1,024 equal buckets, so
//! a bucket's width is at most 2⁻¹⁰ of its values' magnitude, whatever their scale (a latitude
//! between 32 and 42: 0.03 degrees, 320 buckets over California's range), and two
//! sketches merge by adding counts (exactly, in any order). The buckets are left-closed
//! `[lo, hi)` on both signs, as a [`Distribution`]'s bins are, and every boundary is exact in
//! `f32` (11 significant bits); so a [`Distribution`] whose edges are bucket boundaries has
//! *exact* training counts ([`Distribution::of_sketch`]).
//!
//! Memory: the list of its values' buckets while a sketch is small (4 bytes a value, up to
//! 65,536), then a page of 1,024 counters (8 KB) for each sign and power of two the values reach
//! (California's widest column, population from 3 to 35,682, takes 15 pages); a file holds the
//! non-empty buckets only.

use serde::{Deserialize, Serialize};

use crate::drift::Distribution;
use crate::error::{Error, Result};

/// The mantissa bits a bucket keeps: 1,024 buckets per power of two.
pub const MANTISSA_BITS: u32 = 10;
const SHIFT: u32 = 52 - MANTISSA_BITS;
const SIGN: u64 = 1 << 63;

/// The bucket of a finite `value`: increasing with the value, `0.0` and `-0.0` alike.
fn key(value: f64) -> u32 {
    let bits = value.to_bits();
    // Positive numbers above the negative ones; a negative number's boundary `-lo` is the
    // first of its bucket (two's complement of the magnitude, not its bitwise not).
    let ordered = if bits & SIGN == 0 {
        bits | SIGN
    } else {
        (!bits).wrapping_add(1)
    };
    (ordered >> SHIFT) as u32
}

/// The smallest value of bucket `key` (its closed end).
fn lower(key: u32) -> f64 {
    let start = u64::from(key) << SHIFT;
    if start & SIGN != 0 {
        f64::from_bits(start ^ SIGN)
    } else {
        f64::from_bits(start.wrapping_neg())
    }
}

/// Buckets per page: a page is a sign and a power of two.
const PAGE: usize = 1 << MANTISSA_BITS;
/// Pages there are: every sign and exponent of an `f64`.
const PAGES: usize = 1 << (64 - SHIFT - MANTISSA_BITS);

/// Values a sketch keeps as a list of their buckets before it counts them into pages.
const LOG: usize = 1 << 16;

/// A column's values in log-linear buckets, with their count, mean, sum of squared deviations
/// and range; [`merge`](Sketch::merge)able.
///
/// The buckets live in pages of 1,024, one per sign and power of two the values reach,
/// allocated when first needed: memory follows the orders of magnitude the values span (a
/// column of zeros and of values near 1 holds two pages, not the buckets between). Until it has
/// seen [`LOG`] values a sketch only lists their buckets (4 bytes a value), so the many small
/// sketches of a streaming pass (a chunk's, a column's) cost what their values do, not pages,
/// and the pages fill where they merge.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "Stored", try_from = "Stored")]
pub struct Sketch {
    /// The buckets of values not counted into pages yet.
    log: Vec<u32>,
    /// For each page number, its place in `pages` plus one (0: not allocated); empty until the
    /// first value.
    slots: Vec<u16>,
    /// The allocated pages' numbers, in their order in `counts`.
    pages: Vec<u32>,
    /// The allocated pages' counters, a page after another.
    counts: Vec<u64>,
    count: u64,
    mean: f64,
    /// `Σ (v − mean)²`.
    m2: f64,
    min: f64,
    max: f64,
}

/// Equal when they hold the same values' counts and moments, whatever the order their pages
/// were allocated in.
impl PartialEq for Sketch {
    fn eq(&self, other: &Self) -> bool {
        (self.count, self.mean, self.m2, self.min, self.max)
            == (other.count, other.mean, other.m2, other.min, other.max)
            && self.buckets() == other.buckets()
    }
}

/// A [`Sketch`] as a file holds it: the non-empty buckets only, the first's number, each
/// other's distance from the one before, and their counts.
#[derive(Serialize, Deserialize)]
struct Stored {
    first: u32,
    gaps: Vec<u32>,
    counts: Vec<u64>,
    count: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl From<Sketch> for Stored {
    fn from(s: Sketch) -> Self {
        let buckets = s.buckets();
        let first = buckets.first().map_or(0, |b| b.0);
        let mut previous = first;
        let gaps = buckets
            .iter()
            .map(|&(k, _)| {
                let gap = k - previous;
                previous = k;
                gap
            })
            .collect();
        Self {
            first,
            gaps,
            counts: buckets.iter().map(|b| b.1).collect(),
            count: s.count,
            mean: s.mean,
            m2: s.m2,
            min: s.min,
            max: s.max,
        }
    }
}

impl TryFrom<Stored> for Sketch {
    type Error = String;

    fn try_from(s: Stored) -> std::result::Result<Self, String> {
        let bad = |what: &str| Err(format!("a column's sketch {what}"));
        if s.gaps.len() != s.counts.len() || s.counts.iter().sum::<u64>() != s.count {
            return bad("has counts that do not add up to its count");
        }
        let span: u64 = s.gaps.iter().map(|&g| u64::from(g)).sum();
        if u64::from(s.first) + span >= (PAGES * PAGE) as u64 {
            return bad("has buckets out of range");
        }
        if s.count > 0 && !(s.min <= s.max && s.mean.is_finite() && s.m2 >= 0.0) {
            return bad("has a range or moments that are not numbers");
        }
        let mut sketch = Sketch::new();
        let mut at = s.first;
        for (&gap, &c) in s.gaps.iter().zip(&s.counts) {
            at += gap;
            *sketch.bucket(at) += c;
        }
        (sketch.count, sketch.mean, sketch.m2) = (s.count, s.mean, s.m2);
        (sketch.min, sketch.max) = (s.min, s.max);
        Ok(sketch)
    }
}

impl Default for Sketch {
    fn default() -> Self {
        Self::new()
    }
}

impl Sketch {
    /// An empty sketch.
    pub fn new() -> Self {
        Self {
            log: Vec::new(),
            slots: Vec::new(),
            pages: Vec::new(),
            counts: Vec::new(),
            count: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The non-empty buckets, in increasing order: each one's number and count.
    fn buckets(&self) -> Vec<(u32, u64)> {
        if !self.log.is_empty() {
            let mut counted = self.clone();
            counted.count_log();
            return counted.buckets();
        }
        let mut pages: Vec<(u32, &[u64])> = self
            .pages
            .iter()
            .copied()
            .zip(self.counts.chunks_exact(PAGE))
            .collect();
        pages.sort_unstable_by_key(|p| p.0);
        pages
            .iter()
            .flat_map(|&(page, counts)| {
                let base = page << MANTISSA_BITS;
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c > 0)
                    .map(move |(i, &c)| (base + i as u32, c))
            })
            .collect()
    }

    /// Count the listed buckets into pages.
    fn count_log(&mut self) {
        let log = std::mem::take(&mut self.log);
        self.count_keys(&log);
    }

    /// Count each of `keys` into its bucket's page.
    fn count_keys(&mut self, keys: &[u32]) {
        for &k in keys {
            self.count_key(k);
        }
    }

    /// Count `key` into its bucket's page.
    #[inline]
    fn count_key(&mut self, key: u32) {
        let k = key as usize;
        // The page's slot looked up inline: the allocation is the rare case.
        let slot = match self.slots.get(k >> MANTISSA_BITS) {
            Some(&slot) if slot > 0 => (usize::from(slot) - 1) * PAGE,
            _ => self.page(k >> MANTISSA_BITS),
        };
        self.counts[slot + k % PAGE] += 1;
    }

    /// Add the buckets `keys`: listed while the sketch is small, counted once it is not.
    fn add_keys(&mut self, keys: &[u32]) {
        if self.counts.is_empty() && self.log.len() + keys.len() <= LOG {
            self.log.extend_from_slice(keys);
        } else {
            self.count_log();
            self.count_keys(keys);
        }
    }

    /// Where page `page`'s counters start in `counts`, the page allocated if need be.
    fn page(&mut self, page: usize) -> usize {
        if self.slots.is_empty() {
            self.slots = vec![0; PAGES];
        }
        if self.slots[page] == 0 {
            self.pages.push(page as u32);
            self.counts.resize(self.counts.len() + PAGE, 0);
            self.slots[page] = self.pages.len() as u16;
        }
        (usize::from(self.slots[page]) - 1) * PAGE
    }

    /// The counter of bucket `key`.
    fn bucket(&mut self, key: u32) -> &mut u64 {
        let start = self.page((key >> MANTISSA_BITS) as usize);
        &mut self.counts[start + key as usize % PAGE]
    }

    /// Add every `stride`-th value of `values` from `start` (a column of row-major rows);
    /// finite values only: the caller has checked.
    pub fn push_strided(&mut self, values: &[f64], start: usize, stride: usize) {
        let n = values.len().saturating_sub(start).div_ceil(stride.max(1));
        if n == 0 {
            return;
        }
        let column = || values.iter().skip(start).step_by(stride);
        let (mut lo, mut hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        let mut scan = |v: f64| {
            lo = lo.min(v);
            hi = hi.max(v);
            sum += v;
            key(v)
        };
        if self.counts.is_empty() && self.log.len() + n <= LOG {
            self.log.extend(column().map(|&v| scan(v)));
        } else {
            self.count_log();
            for &v in column() {
                let k = scan(v);
                self.count_key(k);
            }
        }
        let n = n as u64;
        let mean = sum / n as f64;
        let m2 = column().map(|&v| (v - mean) * (v - mean)).sum::<f64>();
        self.add_moments(n, mean, m2);
        self.min = self.min.min(lo);
        self.max = self.max.max(hi);
    }

    /// Chan's update of the count, mean and squared deviations by another set's.
    fn add_moments(&mut self, n: u64, mean: f64, m2: f64) {
        let total = self.count + n;
        let delta = mean - self.mean;
        let share = n as f64 / total as f64;
        self.m2 += m2 + delta * delta * self.count as f64 * share;
        self.mean += delta * share;
        self.count = total;
    }

    /// Add `other`'s values, as if pushed here.
    pub fn merge(&mut self, other: &Sketch) {
        if other.count == 0 {
            return;
        }
        self.add_keys(&other.log);
        if !other.pages.is_empty() {
            self.count_log();
        }
        for (&page, counts) in other.pages.iter().zip(other.counts.chunks_exact(PAGE)) {
            let start = self.page(page as usize);
            for (c, o) in self.counts[start..start + PAGE].iter_mut().zip(counts) {
                *c += o;
            }
        }
        self.add_moments(other.count, other.mean, other.m2);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

impl Distribution {
    /// The distribution a sketch gives over at most `bins` bins: each interior edge is the
    /// bucket boundary next to the training quantile `i/B` whose share of values below is the
    /// nearer to `i/B`, so the edge lies within a bucket (2⁻¹⁰ of its magnitude) of the exact
    /// quantile, or in the empty gap around it; the training counts for these edges are exact,
    /// as are the count, range, mean and standard deviation. The outer bins' means take each
    /// value at its bucket's middle (within 2⁻¹¹ of its magnitude).
    pub fn of_sketch(sketch: &Sketch, bins: usize) -> Result<Self> {
        if sketch.count == 0 {
            return Err(Error::Drift("an empty column has no distribution".into()));
        }
        if !(2..=1024).contains(&bins) {
            return Err(Error::Drift(format!(
                "{bins} bins: a training histogram has 2 to 1024"
            )));
        }
        let n = sketch.count;
        let buckets = sketch.buckets();
        // Values below each non-empty bucket, and below none (all of them) at the end.
        let mut below = Vec::with_capacity(buckets.len() + 1);
        let mut running = 0;
        for &(_, c) in &buckets {
            below.push(running);
            running += c;
        }
        below.push(running);
        let mut edges: Vec<f32> = Vec::with_capacity(bins - 1);
        for i in 1..bins {
            let q = i as f64 / bins as f64;
            // The bucket of the value at NumPy's position q·(n − 1), sorted.
            let position = (q * (n - 1) as f64).floor() as u64;
            let at = below.partition_point(|&b| b <= position) - 1;
            let target = q * n as f64;
            let (under, over) = (below[at] as f64, below[at + 1] as f64);
            let key = buckets[at].0 + u32::from(target - under > over - target);
            let edge = lower(key);
            // Boundaries are exact in f32 unless beyond its range: those are left out.
            if f64::from(edge as f32) == edge {
                edges.push(edge as f32);
            }
        }
        edges.dedup();
        edges.retain(|&e| f64::from(e) > sketch.min && f64::from(e) <= sketch.max);
        // The non-empty buckets below each edge.
        let split = |e: f32| buckets.partition_point(|b| b.0 < key(f64::from(e)));
        let mut counts = Vec::with_capacity(edges.len() + 1);
        let mut start = 0;
        for &edge in &edges {
            let end = below[split(edge)];
            counts.push(end - start);
            start = end;
        }
        counts.push(n - start);
        let middle = |k: u32| (0.5 * (lower(k) + lower(k + 1))).clamp(sketch.min, sketch.max);
        let tail_mean = |part: &[(u32, u64)], count: u64| {
            if count == 0 {
                return 0.0;
            }
            part.iter().map(|&(k, c)| c as f64 * middle(k)).sum::<f64>() / count as f64
        };
        let first = edges.first().map_or(buckets.len(), |&e| split(e));
        let last = edges.last().map_or(0, |&e| split(e));
        let outer_means = [
            tail_mean(&buckets[..first], counts[0]),
            tail_mean(&buckets[last..], counts[edges.len()]),
        ];
        Distribution::from_parts(
            n,
            sketch.mean,
            (sketch.m2 / n as f64).sqrt(),
            [sketch.min, sketch.max],
            edges,
            counts,
            outer_means,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_increase_with_the_values_and_start_at_their_boundaries() {
        let values = [
            -1e300, -124.35, -2.0, -1.0, -0.75, -1e-300, -0.0, 0.0, 1e-300, 0.5, 1.0, 3.0, 1e300,
        ];
        for pair in values.windows(2) {
            assert!(key(pair[0]) <= key(pair[1]), "{pair:?}");
        }
        for v in values {
            let k = key(v);
            assert!(
                lower(k) <= v && v < lower(k + 1),
                "{v}: [{}, {})",
                lower(k),
                lower(k + 1)
            );
            assert_eq!(key(lower(k)), k);
        }
        assert_eq!(key(-0.0), key(0.0));
        // A bucket is at most 2⁻¹⁰ of its values' magnitude wide.
        let k = key(-124.35);
        assert!((lower(k + 1) - lower(k)).abs() <= 124.35 / 1024.0);
    }

    #[test]
    fn merged_sketches_equal_one_of_every_value() {
        // More values than a sketch lists before counting them into pages, split so that one
        // side is counted and the other still a list.
        let values: Vec<f64> = (0..150_000)
            .map(|i| ((i * 7919) % 150_001) as f64 * 0.37 - 20_000.5)
            .collect();
        let mut whole = Sketch::new();
        whole.push_strided(&values, 0, 1);
        let (mut a, mut b) = (Sketch::new(), Sketch::new());
        a.push_strided(&values[3000..], 0, 1);
        b.push_strided(&values[..3000], 0, 1);
        assert!(!a.counts.is_empty() && a.log.is_empty() && b.counts.is_empty());
        let mut c = b.clone();
        c.merge(&a);
        assert_eq!(c.buckets(), whole.buckets());
        a.merge(&b);
        assert_eq!(a.buckets(), whole.buckets());
        // Chan's merge against one pass: equal to rounding (values up to 3.6e4).
        assert!((a.mean - whole.mean).abs() < 1e-15 * 3.6e4 * 150.0);
        assert!((a.m2 / whole.m2 - 1.0).abs() < 1e-12);
        let stored: Sketch = rmp_serde::from_slice(&rmp_serde::to_vec(&a).unwrap()).unwrap();
        assert_eq!(stored, a);
    }

    #[test]
    fn a_sketchs_distribution_counts_its_edges_exactly() {
        let values: Vec<f64> = (0..20_000)
            .map(|i| {
                let u = (i as f64 + 0.5) / 20_000.0;
                -(1.0 - u).ln() * 3.0 - 1.0
            })
            .collect();
        let mut sketch = Sketch::new();
        sketch.push_strided(&values, 0, 1);
        let d = Distribution::of_sketch(&sketch, 32).unwrap();
        let exact = Distribution::of(&values, 32).unwrap();
        assert_eq!(d.edges().len(), 31);
        let mut start = 0;
        for (bin, &edge) in d.edges().iter().enumerate() {
            let end = values.iter().filter(|&&v| v < f64::from(edge)).count() as u64;
            assert_eq!(d.counts()[bin], end - start, "bin {bin}");
            start = end;
        }
        // Each edge within a bucket of the two values the exact quantile lies between.
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for (i, &e) in d.edges().iter().enumerate() {
            let j = ((i + 1) as f64 / 32.0 * (sorted.len() - 1) as f64).floor() as usize;
            let (a, b) = (sorted[j], sorted[j + 1]);
            let e = f64::from(e);
            assert!(
                a - a.abs() / 1024.0 <= e && e <= b + b.abs() / 1024.0,
                "edge {i}: {e} outside [{a}, {b}]"
            );
        }
        assert_eq!(d.edges().len(), exact.edges().len());
        assert!((d.mean() - exact.mean()).abs() < 1e-12);
        assert!((d.std() / exact.std() - 1.0).abs() < 1e-12);
        assert_eq!((d.min(), d.max()), (exact.min(), exact.max()));
    }
}
