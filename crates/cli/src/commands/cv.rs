//! `cali-reg cv`: exact k-fold cross-validation of the table.

use crate::args::Common;
use crate::output;
use crate::progress::Bar;

/// `how`: shuffle, stream.
pub fn run(
    common: &Common,
    folds: usize,
    (shuffle, streaming): (bool, bool),
    intercept: bool,
) -> anyhow::Result<()> {
    // As scikit-learn's KFold: a seed without shuffling would do nothing, so it is refused.
    if common.seed.is_some() && !shuffle && !streaming {
        anyhow::bail!(
            "--seed goes with --shuffle or --streaming: folds of consecutive rows take no seed"
        );
    }
    let seed = common.seed.unwrap_or(dataset::DEFAULT_SEED);
    let cv = pipeline::cross_validate(
        &pipeline::CvOptions {
            data: common.data(),
            folds,
            shuffle: shuffle.then_some(seed),
            estimator: linreg::LinearRegression::new().fit_intercept(intercept),
            streaming: streaming.then_some(seed),
        },
        &Bar::new(common),
    )?;
    output::result(&cv, common.json)
}
