//! `cali-reg cv`: exact k-fold cross-validation of the table.

use crate::args::Common;
use crate::output;

pub fn run(common: &Common, folds: usize, shuffle: bool, intercept: bool) -> anyhow::Result<()> {
    // As scikit-learn's KFold: a seed without shuffling would do nothing, so it is refused.
    if common.seed.is_some() && !shuffle {
        anyhow::bail!("--seed goes with --shuffle: folds of consecutive rows take no seed");
    }
    let cv = pipeline::cross_validate(&pipeline::CvOptions {
        data: common.data(),
        folds,
        shuffle: shuffle.then(|| common.seed.unwrap_or(dataset::DEFAULT_SEED)),
        estimator: linreg::LinearRegression::new().fit_intercept(intercept),
    })?;
    output::result(&cv, common.json)
}
