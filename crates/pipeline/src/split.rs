//! Which rows a run holds out: the permutation split's seed and test share, from the options,
//! the record of the last training run, or the defaults.

use crate::error::{Error, Result};
use crate::run_record::RunRecord;

/// Seed and test share of scikit-learn's `train_test_split`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitParams {
    /// The seed (`random_state`).
    pub seed: u64,
    /// The share of rows held out (`test_size`).
    pub test_size: f64,
}

impl Default for SplitParams {
    fn default() -> Self {
        Self {
            seed: dataset::DEFAULT_SEED,
            test_size: dataset::DEFAULT_TEST_SIZE,
        }
    }
}

/// The split a command asks for: each part given, or left to the record or the defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SplitChoice {
    /// The seed, if given.
    pub seed: Option<u64>,
    /// The test share, if given.
    pub test_size: Option<f64>,
}

impl SplitChoice {
    /// Whether either part was given.
    pub fn is_given(&self) -> bool {
        self.seed.is_some() || self.test_size.is_some()
    }

    /// For a training run, which starts afresh: what was given, else the defaults.
    pub fn for_training(self) -> SplitParams {
        self.resolve(None)
    }

    /// For a command that scores the last run: what was given, else the record's, else the
    /// defaults.
    pub fn resolve(self, record: Option<&RunRecord>) -> SplitParams {
        let recorded = record.map(|r| &r.parameters);
        let default = SplitParams::default();
        SplitParams {
            seed: self.seed.or_else(|| recorded?.seed).unwrap_or(default.seed),
            test_size: self
                .test_size
                .or_else(|| recorded?.test_size)
                .unwrap_or(default.test_size),
        }
    }
}

impl SplitParams {
    /// Fail unless the split holds rows out: after `--test-size 0` there is nothing to score.
    pub fn check_held_out(&self) -> Result<()> {
        if self.test_size == 0.0 {
            return Err(Error::NothingHeldOut {
                hint: "; pass --test-size F to choose a split, or --input FILE to predict",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_parts_win_over_the_record_and_the_record_over_the_defaults() {
        let mut record = RunRecord::default();
        record.parameters.seed = Some(7);
        record.parameters.test_size = Some(0.25);
        let none = SplitChoice::default();
        assert_eq!(
            none.resolve(Some(&record)),
            SplitParams {
                seed: 7,
                test_size: 0.25
            }
        );
        let seed = SplitChoice {
            seed: Some(1),
            test_size: None,
        };
        assert_eq!(seed.resolve(Some(&record)).seed, 1);
        assert_eq!(seed.resolve(Some(&record)).test_size, 0.25);
        assert_eq!(none.for_training(), SplitParams::default());
        assert!(matches!(
            SplitParams {
                seed: 1,
                test_size: 0.0
            }
            .check_held_out(),
            Err(Error::NothingHeldOut { .. })
        ));
    }
}
