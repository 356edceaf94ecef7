"""The inference statistics (``bse_``, ``pvalues_``, ``conf_int()``, ``summary()``, …) against
statsmodels' OLS and WLS on California's seed split, to 1e-9 relative (p-values to 1e-6), from
a fit in memory and from merged ``SufficientStats``."""
import numpy as np
import pytest
import statsmodels.api as sm

import cali_reg
from test_california import california


def reference(fit_intercept, weighted):
    X_train, _, y_train, _, w_train, _ = california()
    exog = sm.add_constant(X_train) if fit_intercept else X_train
    if weighted:
        return sm.WLS(y_train, exog, weights=w_train).fit()
    return sm.OLS(y_train, exog).fit()


def assert_matches(ours, ref, weighted):
    np.testing.assert_allclose(ours.params_, ref.params, rtol=1e-9)
    np.testing.assert_allclose(ours.bse_, ref.bse, rtol=1e-9)
    np.testing.assert_allclose(ours.tvalues_, ref.tvalues, rtol=1e-9)
    np.testing.assert_allclose(ours.pvalues_, ref.pvalues, rtol=1e-6, atol=1e-300)
    np.testing.assert_allclose(ours.cov_params_, ref.cov_params(), rtol=1e-9, atol=1e-24)
    for alpha in (0.05, 0.01):
        np.testing.assert_allclose(ours.conf_int(alpha), ref.conf_int(alpha), rtol=1e-9)
    for ours_value, ref_value in [(ours.rsquared_, ref.rsquared), (ours.rsquared_adj_, ref.rsquared_adj),
                                  (ours.fvalue_, ref.fvalue), (ours.scale_, ref.scale), (ours.df_resid_, ref.df_resid)]:
        np.testing.assert_allclose(ours_value, ref_value, rtol=1e-9)
    np.testing.assert_allclose([ours.llf_, ours.aic_, ours.bic_], [ref.llf, ref.aic, ref.bic], rtol=1e-9)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_equals_statsmodels(fit_intercept, weighted):
    X_train, _, y_train, _, w_train, _ = california()
    w = w_train if weighted else None
    ours = cali_reg.LinearRegression(fit_intercept=fit_intercept).fit(X_train, y_train, sample_weight=w)
    assert_matches(ours, reference(fit_intercept, weighted), weighted)


def test_merged_statistics_give_the_same_inference():
    X_train, _, y_train, _, _, _ = california()
    half = len(y_train) // 2
    a = cali_reg.SufficientStats().update(X_train[:half], y_train[:half])
    b = cali_reg.SufficientStats().update(X_train[half:], y_train[half:])
    assert_matches((a + b).fit(), reference(True, False), False)


def test_summary_is_statsmodels_table():
    X_train, _, y_train, _, _, _ = california()
    text = cali_reg.LinearRegression().fit(X_train, y_train).summary(alpha=0.1)
    assert "OLS Regression Results" in text
    assert "[0.05" in text and "0.95]" in text
    assert text.splitlines()[-1] == "=" * 78


def test_a_loaded_model_has_no_statistics_to_infer_from(tmp_path):
    X_train, _, y_train, _, _, _ = california()
    cali_reg.LinearRegression().fit(X_train, y_train).save(tmp_path / "m.msgpack")
    loaded = cali_reg.load(tmp_path / "m.msgpack")
    with pytest.raises(ValueError, match="holds no training statistics"):
        loaded.summary()


def assert_intervals_match(got, frame, rtol=1e-9):
    """Each end to `rtol` of the larger of its value and its interval's half-width (an end near 0
    is the difference of two close numbers in both programs)."""
    np.testing.assert_allclose(got["prediction"], frame["mean"], rtol=rtol)
    for kind in ("mean", "obs"):
        half = frame[kind + "_ci_upper"] - frame["mean"]
        np.testing.assert_allclose(got[kind + "_ci_upper"] - got["prediction"], half, rtol=rtol)
        for end in ("lower", "upper"):
            name = f"{kind}_ci_{end}"
            scale = np.maximum(np.abs(frame[name]), half)
            assert np.max(np.abs(got[name] - frame[name]) / scale) <= rtol, name


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_prediction_intervals_equal_statsmodels(fit_intercept, weighted):
    X_train, X_test, y_train, _, w_train, _ = california()
    w = w_train if weighted else None
    ours = cali_reg.LinearRegression(fit_intercept=fit_intercept).fit(X_train, y_train, sample_weight=w)
    exog = sm.add_constant(X_test) if fit_intercept else X_test
    frame = reference(fit_intercept, weighted).get_prediction(exog).summary_frame(alpha=0.1)
    got = ours.predict(X_test, interval=0.9)
    assert got.dtype.names == ("prediction", "mean_ci_lower", "mean_ci_upper", "obs_ci_lower", "obs_ci_upper")
    assert_intervals_match(got, {k: frame[k].to_numpy() for k in frame.columns})


def test_quantised_intervals_reuse_the_float_covariance_and_bad_levels_are_refused(tmp_path):
    X_train, X_test, y_train, _, _, _ = california()
    model = cali_reg.LinearRegression().fit(X_train, y_train)
    model.save(tmp_path / "m.msgpack")
    # Saved and loaded, the file carries what the intervals need.
    loaded = cali_reg.load(tmp_path / "m.msgpack")
    np.testing.assert_array_equal(loaded.predict(X_test, interval=0.95), model.predict(X_test, interval=0.95))
    q = model.quantize()
    fq, qq = model.predict(X_test, interval=0.95), q.predict(X_test, interval=0.95)
    assert not np.array_equal(fq["prediction"], qq["prediction"])
    np.testing.assert_allclose(qq["obs_ci_upper"] - qq["prediction"], fq["obs_ci_upper"] - fq["prediction"], rtol=1e-12)
    # A quantised model read from its file alone does not know its float model.
    q.save(tmp_path / "q.msgpack")
    with pytest.raises(ValueError, match="reuse the float model it was quantised from"):
        cali_reg.load(tmp_path / "q.msgpack").predict(X_test, interval=0.95)
    for bad in (0.0, 1.0, 95, float("nan")):
        with pytest.raises(ValueError, match="must lie strictly between 0 and 1"):
            model.predict(X_test, interval=bad)
    with pytest.raises(ValueError, match="ridge penalty"):
        cali_reg.Ridge(alpha=1.0).fit(X_train, y_train).predict(X_test, interval=0.95)
