"""scikit-learn's own test suite for estimators, on cali_reg.LinearRegression and Ridge."""
from sklearn.utils.estimator_checks import parametrize_with_checks

import cali_reg

# Checks that cannot pass, with the reason.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "fits 15 rows (27 after repeating them by weight) of 30 features: an underdetermined "
        "problem, for which scikit-learn returns the minimum-norm solution of lstsq and "
        "cali-reg, solving the normal equations, refuses with 'rows are too few to fit'"
    ),
    "check_array_api_input": (
        "fits a table with exactly collinear columns: scikit-learn's lstsq returns the "
        "minimum-norm solution, cali-reg refuses, naming the collinear features"
    ),
}


@parametrize_with_checks(
    [
        cali_reg.LinearRegression(),
        cali_reg.LinearRegression(fit_intercept=False),
        cali_reg.Ridge(),
        cali_reg.Ridge(alpha=0.5, fit_intercept=False),
    ],
    # Ridge passes every check: its penalty makes both problems definite.
    expected_failed_checks=lambda estimator: {} if isinstance(estimator, cali_reg.Ridge) else EXPECTED_FAILED_CHECKS,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
