"""The fit against scikit-learn's LinearRegression(tol=0) on California's seed split: with and
without an intercept and sample weights (households), coefficients to 1e-9 relative."""
import os

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression as Reference
from sklearn.model_selection import train_test_split

import cali_reg

FEATURES = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"]


def california():
    path = os.environ.get("CALI_REG_DATA")
    if not path:
        pytest.fail("set CALI_REG_DATA to cal_housing.csv (cargo xtask test passes it on)")
    raw = np.loadtxt(path, delimiter=",", skiprows=1)
    data = raw[:, [8, 7, 2, 3, 4, 5, 6, 1, 0]]
    y, X = data[:, 0] / 100000.0, data[:, 1:].copy()
    households = raw[:, 6].copy()
    X[:, 2] /= X[:, 5]
    X[:, 3] /= X[:, 5]
    X[:, 5] = X[:, 4] / X[:, 5]
    return train_test_split(X, y, households, test_size=0.2, random_state=42)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_equals_scikit_learn(fit_intercept, weighted):
    X_train, X_test, y_train, y_test, w_train, _ = california()
    w = w_train if weighted else None
    ours = cali_reg.LinearRegression(fit_intercept=fit_intercept).fit(X_train, y_train, sample_weight=w)
    ref = Reference(fit_intercept=fit_intercept, tol=0).fit(X_train, y_train, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.predict(X_test), ref.predict(X_test), rtol=1e-9)


def test_the_seed_split_figures_of_the_original():
    X_train, X_test, y_train, y_test, _, _ = california()
    model = cali_reg.LinearRegression().fit(X_train, y_train)
    assert round(model.score(X_test, y_test), 4) == 0.5758
    assert np.array2string(model.predict(X_test[:5]), precision=3) == "[0.719 1.764 2.71  2.839 2.605]"


def test_dataframes_give_feature_names():
    import pandas as pd
    X_train, X_test, y_train, _, _, _ = california()
    frame = pd.DataFrame(X_train, columns=FEATURES)
    model = cali_reg.LinearRegression().fit(frame, y_train)
    assert list(model.feature_names_in_) == FEATURES
    plain = cali_reg.LinearRegression().fit(X_train, y_train)
    assert not hasattr(plain, "feature_names_in_")
    np.testing.assert_array_equal(model.predict(pd.DataFrame(X_test, columns=FEATURES)), plain.predict(X_test))


def test_polars_dataframes_too():
    import polars as pl

    X_train, X_test, y_train, _, _, _ = california()
    frame = pl.DataFrame({name: X_train[:, j] for j, name in enumerate(FEATURES)})
    model = cali_reg.LinearRegression().fit(frame, y_train)
    assert list(model.feature_names_in_) == FEATURES
    plain = cali_reg.LinearRegression().fit(X_train, y_train)
    np.testing.assert_allclose(model.coef_, plain.coef_, rtol=1e-12)
    test = pl.DataFrame({name: X_test[:, j] for j, name in enumerate(FEATURES)})
    np.testing.assert_allclose(model.predict(test), plain.predict(X_test), rtol=1e-12)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("alpha", [0.1, 100.0])
def test_ridge_equals_scikit_learn(fit_intercept, weighted, alpha):
    from sklearn.linear_model import Ridge

    X_train, X_test, y_train, _, w_train, _ = california()
    w = w_train if weighted else None
    ours = cali_reg.Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X_train, y_train, sample_weight=w)
    ref = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X_train, y_train, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.predict(X_test), ref.predict(X_test), rtol=1e-9)
    assert np.isnan(ours.bse_).all()
    with pytest.raises(ValueError, match="ridge penalty"):
        ours.summary()
