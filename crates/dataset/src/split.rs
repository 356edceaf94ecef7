//! scikit-learn's `train_test_split(..., test_size, random_state=seed)`, index for index.
//!
//! numpy's legacy `RandomState(seed)` is MT19937 seeded by `init_genrand(seed)`;
//! `permutation(n)` shuffles `0..n` from the back, drawing each `j ∈ [0, i]` by masked rejection.

use crate::error::{Error, Result};

/// The Mersenne Twister MT19937, 32-bit output, as in numpy's legacy `RandomState`.
#[derive(Debug, Clone)]
pub struct Mt19937 {
    state: [u32; 624],
    index: usize,
}

impl Mt19937 {
    /// Seed with the reference `init_genrand(seed)`.
    pub fn new(seed: u32) -> Self {
        let mut state = [0_u32; 624];
        state[0] = seed;
        for i in 1..624 {
            let prev = state[i - 1];
            state[i] = 1_812_433_253_u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self { state, index: 624 }
    }

    fn twist(&mut self) {
        const N: usize = 624;
        const M: usize = 397;
        // The reference's three loops: the same words as `i + 1` and `i + 397` modulo 624,
        // without a division in the loop.
        fn step(s: &[u32; N], i: usize, next: usize, far: usize) -> u32 {
            let y = (s[i] & 0x8000_0000) | (s[next] & 0x7fff_ffff);
            s[far] ^ (y >> 1) ^ (0x9908_b0df & 0_u32.wrapping_sub(y & 1))
        }
        let s = &mut self.state;
        for i in 0..N - M {
            s[i] = step(s, i, i + 1, i + M);
        }
        for i in N - M..N - 1 {
            s[i] = step(s, i, i + 1, i + M - N);
        }
        s[N - 1] = step(s, N - 1, 0, M - 1);
        self.index = 0;
    }

    /// The next 32-bit output (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// A uniform integer in `0..=max` by masked rejection (numpy's `random_interval`).
    pub fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16] {
            mask |= mask >> shift;
        }
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }
}

/// `RandomState(seed).permutation(n)`.
///
/// ```
/// assert_eq!(dataset::permutation(10, 0).unwrap(), vec![2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
/// ```
pub fn permutation(n: usize, seed: u64) -> Result<Vec<usize>> {
    let seed = check_seed(seed)?;
    if n > u32::MAX as usize {
        return Err(Error::Invalid(format!(
            "{n} rows are more than a split can index"
        )));
    }
    let mut rng = Mt19937::new(seed);
    let mut out: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.interval(i as u32) as usize;
        out.swap(i, j);
    }
    Ok(out)
}

/// The split seed when none is given: the original pipeline's `random_state=42`.
pub const DEFAULT_SEED: u64 = 42;
/// The test share when none is given: the original pipeline's `test_size=0.2`.
pub const DEFAULT_TEST_SIZE: f64 = 0.2;

/// The one check of a split's parameters, for the permutation and the hash split alike: a
/// seed numpy's `RandomState` takes, and a test share strictly between 0 and 1.
pub fn check_split(seed: u64, test_size: f64) -> Result<()> {
    if !(0.0..1.0).contains(&test_size) {
        return Err(Error::Invalid(format!(
            "test size {test_size:?} is out of range: it must be at least 0 (0: every row trains) and below 1"
        )));
    }
    check_seed(seed).map(|_| ())
}

fn check_seed(seed: u64) -> Result<u32> {
    u32::try_from(seed).map_err(|_| {
        Error::Invalid(format!(
            "seed {seed} is out of range: numpy's RandomState takes 0 to 4294967295"
        ))
    })
}

/// Row indices of the train and test sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training rows, in permutation order.
    pub train: Vec<usize>,
    /// Test rows, in permutation order.
    pub test: Vec<usize>,
}

/// The split scikit-learn's `train_test_split(n rows, test_size=test_size, random_state=seed)` makes.
///
/// The test set is the first `ceil(test_size · n)` entries of the permutation, the train set
/// the rest (scikit-learn's sizes when only `test_size` is given). A test size of 0 (which
/// scikit-learn refuses) holds nothing out: every row trains, in file order.
pub fn train_test_split(n: usize, test_size: f64, seed: u64) -> Result<Split> {
    check_split(seed, test_size)?;
    if test_size == 0.0 {
        // Every row trains, in file order; nothing is held out (scikit-learn refuses 0).
        return Ok(Split {
            train: (0..n).collect(),
            test: Vec::new(),
        });
    }
    // Not `floor((1 − test_size) · n)` training rows: rounding made that one row too many or
    // too few (0.07 of 100 rows: 93 + 8), where scikit-learn trains on what the test leaves.
    let n_test = ((test_size * n as f64).ceil() as usize).min(n);
    let n_train = n - n_test;
    if n_train == 0 || n_test == 0 {
        return Err(Error::Invalid(format!(
            "test size {test_size:?} of {n} rows leaves {n_train} training and {n_test} test rows; both must be at least 1"
        )));
    }
    // The permutation's buffer becomes the training rows (the larger part), without a copy.
    let mut train = permutation(n, seed)?;
    let test = train[..n_test].to_vec();
    train.drain(..n_test);
    Ok(Split { train, test })
}

/// SplitMix64: a well-mixed 64-bit hash.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The hash split of a stream (`--split hash`): the row on line `line` of the file is a test
/// row with probability `test_size`, the same on every run and whatever the number of threads.
///
/// ```
/// let test = (1..=10_000).filter(|&l| dataset::hash_is_test(42, l, 0.2)).count();
/// assert!((1_800..2_200).contains(&test));
/// ```
pub fn hash_is_test(seed: u64, line: u64, test_size: f64) -> bool {
    hash_unit(seed, line) < test_size
}

/// The row on line `line`'s point in [0, 1), uniform, from a hash of the line and the seed.
fn hash_unit(seed: u64, line: u64) -> f64 {
    let h = mix(mix(seed) ^ line);
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The hash fold of a stream (`cv --streaming`): the row on line `line` of the file goes to
/// fold `0..k`, each with probability `1/k`, by the same hash as [`hash_is_test`].
///
/// ```
/// let first = (1..=10_000).filter(|&l| dataset::hash_fold(42, l, 5) == 0).count();
/// assert!((1_800..2_200).contains(&first));
/// ```
pub fn hash_fold(seed: u64, line: u64, k: usize) -> usize {
    ((hash_unit(seed, line) * k as f64) as usize).min(k.saturating_sub(1))
}

/// The fold of a hash split's training row for a search by k-fold cross-validation
/// (`train --streaming --alpha auto`): `None` for a test row ([`hash_is_test`]); a training
/// row's point, rescaled from `[test_size, 1)` to `[0, 1)`, picks its fold, so the folds share
/// the training rows evenly, and with `test_size` 0 they are [`hash_fold`]'s.
///
/// ```
/// for line in 1..1000 {
///     assert_eq!(dataset::hash_train_fold(7, line, 0.0, 5), Some(dataset::hash_fold(7, line, 5)));
///     let fold = dataset::hash_train_fold(7, line, 0.2, 5);
///     assert_eq!(fold.is_none(), dataset::hash_is_test(7, line, 0.2));
/// }
/// ```
pub fn hash_train_fold(seed: u64, line: u64, test_size: f64, k: usize) -> Option<usize> {
    let u = hash_unit(seed, line);
    if u < test_size {
        return None;
    }
    let v = (u - test_size) / (1.0 - test_size);
    Some(((v * k as f64) as usize).min(k.saturating_sub(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_matches_the_reference_output() {
        // First outputs of init_genrand(5489), the reference implementation's default seed.
        let mut rng = Mt19937::new(5489);
        let first: Vec<u32> = (0..3).map(|_| rng.next_u32()).collect();
        assert_eq!(first, vec![3_499_211_612, 581_869_302, 3_890_346_734]);
    }

    #[test]
    fn permutation_of_ten_with_seed_zero() {
        assert_eq!(
            permutation(10, 0).unwrap(),
            vec![2, 8, 4, 9, 1, 6, 7, 3, 0, 5]
        );
    }

    #[test]
    fn california_split_matches_scikit_learn() {
        let s = train_test_split(20_640, 0.2, 42).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (16_512, 4_128));
        assert_eq!(
            s.test[..10],
            [
                20046, 3024, 15663, 20484, 9814, 13311, 7113, 7668, 18246, 5723
            ]
        );
        assert_eq!(
            s.train[..10],
            [
                14196, 8267, 17445, 14265, 2271, 17848, 6252, 9389, 6113, 6061
            ]
        );
    }

    #[test]
    fn sizes_round_as_scikit_learn_does() {
        // ceil(0.25 · 10) = 3 test rows, and the other 7 train.
        let s = train_test_split(10, 0.25, 1).unwrap();
        assert_eq!((s.test.len(), s.train.len()), (3, 7));
        // 0.8 · 10 is 8 test rows and 2 train (scikit-learn 1.9); (1 − 0.8) · 10 is
        // 1.9999999999999996 in f64, and flooring it left a row out.
        let s = train_test_split(10, 0.8, 1).unwrap();
        assert_eq!((s.test.len(), s.train.len()), (8, 2));
        // (1 − 0.07) · 100 is 93.00000000000001 and 0.07 · 100 is 7.000000000000001: 92 + 8.
        let s = train_test_split(100, 0.07, 1).unwrap();
        assert_eq!((s.test.len(), s.train.len()), (8, 92));
    }

    #[test]
    fn rejects_bad_sizes_and_seeds() {
        for t in [1.0, -0.1, 1.5, f64::NAN] {
            assert!(
                matches!(train_test_split(100, t, 0), Err(Error::Invalid(_))),
                "{t}"
            );
        }
        // 0 holds nothing out (issue 14's `--test-size 0`): every row trains, in order.
        let all = train_test_split(5, 0.0, 0).unwrap();
        assert_eq!((all.train, all.test), (vec![0, 1, 2, 3, 4], vec![]));
        let e = train_test_split(100, 0.2, 1 << 32).unwrap_err();
        assert!(
            e.to_string().contains("seed 4294967296 is out of range"),
            "{e}"
        );
        assert!(train_test_split(100, 0.2, u64::from(u32::MAX)).is_ok());
        assert!(matches!(
            train_test_split(1, 0.5, 0),
            Err(Error::Invalid(_))
        ));
    }
}
