"""cali_reg: ordinary least squares as scikit-learn's ``LinearRegression``, solved in Rust.

``LinearRegression`` is a scikit-learn regressor (it passes scikit-learn's own estimator
checks) whose fit is cali-reg's: the same digits as ``cali-reg train``, and double-double
arithmetic where the data ask for it. Its models are cali-reg's model files: ``save`` writes
the file ``cali-reg predict`` and ``cali-reg serve`` load, and ``load`` reads the files they
write. ``quantize`` gives the uint8 model with its bias-corrected intercept.

Loading a model file never executes code: the file holds numbers (a header, a checksum and a
MessagePack payload of coefficients, ranges and feature names), not pickled Python objects.
That is the point of the format against pickle and joblib.

scikit-learn is optional: without it the estimator still fits, predicts, scores and saves
(with NumPy's conversions); with it, inputs are validated by scikit-learn's own rules.
"""

import os

import numpy as np

from . import _native

__all__ = ["LinearRegression", "Ridge", "QuantizedLinearRegression", "SufficientStats", "load"]
__version__ = _native.__version__

try:  # scikit-learn's bases and validation, when it is installed
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

    _SKLEARN = True
except ImportError:  # pragma: no cover - exercised without scikit-learn
    _SKLEARN = False

    class BaseEstimator:  # the few parts of scikit-learn's base the class relies on
        def get_params(self, deep=True):
            return {"fit_intercept": self.fit_intercept}

        def set_params(self, **params):
            for key, value in params.items():
                setattr(self, key, value)
            return self

    class RegressorMixin:
        def score(self, X, y, sample_weight=None):
            y = np.asarray(y, dtype=np.float64)
            w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
            residual = np.sum(w * (y - self.predict(X)) ** 2)
            total = np.sum(w * (y - np.average(y, weights=w)) ** 2)
            return 1.0 - residual / total if total > 0 else (1.0 if residual == 0 else 0.0)


def _floats(X, model=None, reset=True):
    """X as a float64 2-D array, C or Fortran order as it comes (scikit-learn's rules when it
    is there); the Rust side reads either in place."""
    if _SKLEARN and model is not None:
        return validate_data(model, X, dtype=np.float64, reset=reset, order=None)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array, got {X.ndim}-D")
    if not np.all(np.isfinite(X)):
        raise ValueError("Input X contains NaN or infinity.")
    return X


def _float_frame(X, ndim=2):
    """A pandas DataFrame whose values are float64 and whose columns are named by distinct
    strings (a float64 Series for ``ndim`` 1): its values as one array, without a copy where
    pandas holds them in one block, and its column names; else ``None``, and the caller
    validates X as it is. (Read from ``to_numpy()``'s dtype: checking ``dtypes`` took longer
    than the rest of the check.)"""
    if not type(X).__module__.startswith("pandas") or not hasattr(X, "to_numpy"):
        return None
    values = X.to_numpy()
    if values.dtype != np.float64 or values.ndim != ndim:
        return None
    if ndim == 1:
        return values
    # As scikit-learn reads them (an object array): pandas 3 keeps the names in Arrow, whose
    # ``tolist()`` took twice as long.
    names = X.columns.to_numpy(dtype=object)
    if not X.columns.is_unique or not all(type(n) is str for n in names):
        return None
    return values, names


def _plain(X, ndim=2):
    """Whether X is a float64 NumPy array of `ndim` dimensions in C or Fortran order, or whose
    columns are each contiguous (a pandas frame's rows ``iloc[a:b]``): what the Rust side reads
    as it is, and scikit-learn's validation would hand back unchanged (its other checks, of
    finite values, are the solver's too: a refusal there goes through scikit-learn's
    validation for its exact error)."""
    return (
        type(X) is np.ndarray
        and X.dtype == np.float64
        and X.ndim == ndim
        and (X.flags.c_contiguous or X.flags.f_contiguous or (ndim == 2 and X.strides[0] == X.itemsize))
    )


class _Saved:
    """What fitted and loaded models share: the model file's bytes, prediction through them."""

    def save(self, path):
        """Write the model file (the format of ``cali-reg``'s ``artifacts/*.msgpack``)."""
        self._check_fitted()
        _native.write_atomically(os.fspath(path), self._model)

    def to_bytes(self):
        """The model file's bytes."""
        self._check_fitted()
        return bytes(self._model)

    def _predict_floats(self, X):
        return _native.predict(self._model, X)

    def _predict_interval(self, X, interval):
        level = float(interval)
        table = _native.predict_interval(self._model, X, level, getattr(self, "_float", None))
        return np.rec.fromarrays(table.T, names=_INTERVAL_FIELDS)


# What ``predict(X, interval=…)`` returns: a record array, one field each (``pandas.DataFrame``
# of it gives statsmodels' ``summary_frame`` columns, ``prediction`` for its ``mean``).
_INTERVAL_FIELDS = ["prediction", "mean_ci_lower", "mean_ci_upper", "obs_ci_lower", "obs_ci_upper"]


class LinearRegression(RegressorMixin, _Saved, BaseEstimator):
    """Ordinary least squares, as ``sklearn.linear_model.LinearRegression``.

    Parameters
    ----------
    fit_intercept : bool, default True
        Fit an intercept; without it the model passes through the origin.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X had column names (a pandas or polars DataFrame)
    condition_number_ : float, of the scaled Gram matrix the solve factored

    Inference statistics, as statsmodels' ``OLS`` (``WLS`` with ``sample_weight``) gives them,
    from the training rows' sufficient statistics (no second pass over the data). The arrays
    follow ``params_``: the intercept first (when fitted), then ``coef_``, as statsmodels orders
    ``add_constant``'s column. They are NaN where a fit has no residual degrees of freedom.

    params_, bse_, tvalues_, pvalues_ : ndarray of shape (n_params,)
    cov_params_ : ndarray of shape (n_params, n_params)
    rsquared_, rsquared_adj_, fvalue_, f_pvalue_, scale_, df_resid_ : float
    llf_, aic_, bic_ : float (with ``sample_weight``, statsmodels' WLS log-likelihood)
    conf_int(alpha=0.05) : ndarray of shape (n_params, 2)
    summary(alpha=0.05) : str, statsmodels' table
    """

    def __init__(self, fit_intercept=True):
        self.fit_intercept = fit_intercept

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n_samples, n_features), y (n_samples,), optional sample_weight."""
        names, given = None, (X, y)
        frame = _float_frame(X)
        if frame is not None:
            X, names = frame
        y_plain = _float_frame(y, 1)
        if y_plain is not None:
            y = y_plain
        if _SKLEARN and sample_weight is None and _plain(X) and _plain(y, 1) and len(y) == len(X) >= 2 and X.shape[1] >= 1:
            # Plain float64 arrays (a DataFrame's own, Fortran-ordered, read in place): fitted as
            # they are, without a validating copy.
            try:
                fitted = _native.fit(
                    X,
                    y,
                    None,
                    bool(self.fit_intercept),
                    None if names is None else names.tolist(),
                    self._penalty(),
                )
            except ValueError:
                fitted = None  # scikit-learn's validation below names what is wrong, or refits
            if fitted is not None:
                self.n_features_in_ = X.shape[1]
                if names is not None:
                    self.feature_names_in_ = names
                elif hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
                self._set(*fitted)
                return self
        # Validated as given (a frame's column names recorded, weighted or not).
        X, y = given
        if _SKLEARN:
            X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, multi_output=False)
            if sample_weight is not None:
                sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        else:
            X = _floats(X)
            y = np.asarray(y, dtype=np.float64).ravel()
            self.n_features_in_ = X.shape[1]
            if sample_weight is not None:
                sample_weight = np.asarray(sample_weight, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64)
        n, p = X.shape
        if n < 2:
            raise ValueError(f"Found {n} sample(s) while a minimum of 2 is required (n_samples = {n}).")
        names = [str(c) for c in getattr(self, "feature_names_in_", [])] or [f"x{j}" for j in range(p)]
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self._set(
            *_native.fit(X, y, weights, bool(self.fit_intercept), names, self._penalty()),
            weighted=weights is not None,
        )
        return self

    def _penalty(self):
        return 0.0

    def _set(self, coef, intercept, model, condition, stats, params, weighted=False):
        self.coef_ = coef
        self.intercept_ = intercept
        self.condition_number_ = condition
        self._model = model
        self._stats = stats
        self._weighted = weighted
        self.params_ = params
        # The inference figures (``bse_``, …) are computed from the statistics when first read.
        self.__dict__.pop("_found", None)

    def _figures(self):
        """The inference statistics at alpha 0.05, computed once; ``None`` where there are
        none (no residual degrees of freedom, a ridge model, a model read from a file)."""
        if "_found" not in self.__dict__:
            self._check_fitted()
            try:
                found = self._inference(0.05)[0]
            except ValueError:
                found = None
            self._found = found
        return self._found

    def _column(key):
        def get(self):
            found = self._figures()
            if found is None:
                return np.full(len(self.params_), np.nan)
            return np.array([e[key] for e in found["estimates"]])

        return property(get)

    def _scalar(key):
        def get(self):
            found = self._figures()
            return np.nan if found is None or found[key] is None else float(found[key])

        return property(get)

    bse_, tvalues_, pvalues_ = _column("std_err"), _column("t"), _column("p_value")
    rsquared_, rsquared_adj_ = _scalar("r2"), _scalar("adj_r2")
    fvalue_, f_pvalue_ = _scalar("f_statistic"), _scalar("f_p_value")
    scale_, df_resid_ = _scalar("scale"), _scalar("df_resid")
    llf_, aic_, bic_ = _scalar("log_likelihood"), _scalar("aic"), _scalar("bic")
    del _column, _scalar

    @property
    def cov_params_(self):
        found, k = self._figures(), len(self.params_)
        return np.full((k, k), np.nan) if found is None else np.array(found["covariance"]).reshape(k, k)

    def _inference(self, alpha, table=False):
        """The inference statistics at ``alpha`` (a dict of ``linreg::Inference``'s fields) and,
        with ``table``, statsmodels' summary table of them."""
        if getattr(self, "_stats", None) is None:
            raise ValueError(
                "a model read from a file holds no training statistics: fit it to get its inference statistics"
            )
        return _native.inference(self._model, self._stats, float(alpha), self._weighted, table=table)

    def conf_int(self, alpha=0.05):
        """The (1 − alpha) confidence intervals of ``params_``, one row [lower, upper] each."""
        self._check_fitted()
        found = self._inference(alpha)[0]
        return np.array([[e["ci_lower"], e["ci_upper"]] for e in found["estimates"]])

    def summary(self, alpha=0.05):
        """statsmodels' summary table of the fit, as text."""
        self._check_fitted()
        return self._inference(alpha, table=True)[1]

    def predict(self, X, interval=None):
        """Predictions for the rows of X, computed as ``cali-reg predict`` computes them.

        With ``interval`` (a level such as 0.95), a record array of the fields ``prediction``,
        ``mean_ci_lower``, ``mean_ci_upper`` (the fitted mean's interval), ``obs_ci_lower`` and
        ``obs_ci_upper`` (a new observation's), as statsmodels'
        ``get_prediction(X).summary_frame(alpha=1 - interval)``; ``pandas.DataFrame(...)`` of
        it is that table."""
        self._check_fitted()
        plain = _plain(X) and X.shape[1] == self.n_features_in_ and not hasattr(self, "feature_names_in_")
        if not (plain and np.isfinite(X).all()):
            X = _floats(X, self, reset=False)
        if interval is not None:
            return self._predict_interval(X, interval)
        return self._predict_floats(X)

    def quantize(self):
        """The uint8 model of this one: one affine uint8 tensor for the weights and a
        bias-corrected float intercept (``cali-reg quantize``)."""
        self._check_fitted()
        data, coef, intercept = _native.quantize(self._model)
        quantized = QuantizedLinearRegression._from_file(data, coef, intercept, self.n_features_in_)
        # Its prediction intervals reuse this model's covariance.
        quantized._float = self._model
        return quantized

    def _check_fitted(self):
        if _SKLEARN:
            check_is_fitted(self)
        elif not hasattr(self, "coef_"):
            raise AttributeError("This LinearRegression instance is not fitted yet: call fit first.")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class Ridge(LinearRegression):
    """Ridge regression, as ``sklearn.linear_model.Ridge``: least squares plus ``alpha`` times
    the squared norm of the slopes (the intercept is not penalised; the columns are centred on
    their weighted means). Solved in Rust from the same sufficient statistics as
    ``LinearRegression``, and saved as the same model files (``cali-reg train --alpha``'s).

    Parameters
    ----------
    alpha : float, default 1.0
        The penalty, ≥ 0 (0 is least squares).
    fit_intercept : bool, default True

    The inference statistics of ``LinearRegression`` are least squares': here they are NaN and
    ``summary()`` raises.
    """

    def __init__(self, alpha=1.0, fit_intercept=True):
        self.alpha = alpha
        self.fit_intercept = fit_intercept

    def _penalty(self):
        alpha = float(self.alpha)
        if not (alpha >= 0 and np.isfinite(alpha)):
            raise ValueError(f"alpha {self.alpha}: the ridge penalty must be a number >= 0")
        return alpha


class QuantizedLinearRegression(_Saved):
    """A uint8 model (from ``LinearRegression.quantize`` or a loaded ``quant_model.msgpack``):
    ``predict`` and ``save``; ``coef_`` holds the weights as the codes decode."""

    @classmethod
    def _from_file(cls, data, coef, intercept, n_features):
        model = cls()
        model._model, model.coef_, model.intercept_ = data, np.asarray(coef, dtype=np.float64), float(intercept)
        model.n_features_in_ = n_features
        return model

    def predict(self, X, interval=None):
        """Predictions for the rows of X; with ``interval``, as ``LinearRegression.predict``
        gives them, from the covariance of the float model it was quantised from (known when
        it came from ``LinearRegression.quantize``)."""
        X = _floats(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but the model takes {self.n_features_in_}")
        if interval is not None:
            return self._predict_interval(X, interval)
        return self._predict_floats(X)

    def _check_fitted(self):
        pass


class SufficientStats:
    """Mergeable sufficient statistics of a table's rows: what a distributed engine computes
    per partition and merges, exactly (Chan's update, in double-double). ``to_bytes`` gives the
    command line's ``.stats`` files (``cali-reg train --from-stats`` reads them) and
    ``from_bytes`` reads those of ``cali-reg stats``.

    >>> s = SufficientStats(3).update(X1, y1) + SufficientStats(3).update(X2, y2)
    >>> model = s.fit()          # the same model as fitting the rows of both at once

    With ``distributions`` (the default) each column's mergeable sketch is kept too, so the
    model file of ``fit`` carries the features' and the target's training distributions
    (``cali-reg drift`` measures against them); merged statistics keep them only when every
    part did.
    """

    def __init__(self, n_features=None, fit_intercept=True, feature_names=None, target="y", distributions=True):
        names = None if feature_names is None else [str(n) for n in feature_names]
        if names is None and n_features is not None:
            names = [f"x{j}" for j in range(n_features)]
        # What the native statistics are made with, once the feature names are known (given,
        # or from the first update); everything else is read from them.
        self._fit_intercept, self._target = bool(fit_intercept), str(target)
        self._distributions = bool(distributions)
        self._stats = None if names is None else self._native(names)

    def _native(self, names):
        return _native.Stats(names, self._fit_intercept, self._target, self._distributions)

    def update(self, X, y, sample_weight=None):
        """Add rows (X: 2-D, float64 read in place; y; optional sample_weight); returns self."""
        columns = getattr(X, "columns", None)
        X = _floats(X)
        if self._stats is None:
            names = [str(c) for c in columns] if columns is not None else [f"x{j}" for j in range(X.shape[1])]
            self._stats = self._native(names)
        y = np.asarray(y, dtype=np.float64).ravel()
        if len(y) != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {len(y)} values")
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).ravel()
        self._stats.update(X, y, w)
        return self

    def merge(self, other):
        """Add another's rows (same features, same choice of intercept); returns self."""
        if other._stats is None:
            return self
        if self._stats is None:
            self._stats = _native.Stats.from_bytes(other._stats.to_bytes())
            return self
        self._stats.merge(other._stats)
        return self

    def __add__(self, other):
        merged = SufficientStats.from_bytes(self.to_bytes()) if self._stats is not None else SufficientStats()
        return merged.merge(other)

    def to_bytes(self):
        """The bytes of a ``.stats`` file."""
        if self._stats is None:
            raise ValueError("no rows yet: the statistics have no features to write")
        return bytes(self._stats.to_bytes())

    @classmethod
    def from_bytes(cls, data):
        """Statistics from the bytes of a ``.stats`` file (``cali-reg stats -o FILE``)."""
        out = cls()
        out._stats = _native.Stats.from_bytes(bytes(data))
        return out

    def fit(self):
        """The ``LinearRegression`` of these rows."""
        if self._stats is None:
            raise ValueError("no rows to fit")
        names = self._stats.names
        model = LinearRegression(fit_intercept=self._stats.fit_intercept)
        model._set(*self._stats.fit(), weighted=self._stats.weighted)
        model.n_features_in_ = len(names)
        if not all(n == f"x{j}" for j, n in enumerate(names)):
            model.feature_names_in_ = np.asarray(names, dtype=object)
        return model

    @property
    def distributions(self):
        """Whether the columns' sketches are kept (for the training distributions)."""
        return self._distributions if self._stats is None else self._stats.distributions

    @property
    def n_rows(self):
        """Rows added (with a positive weight)."""
        return 0 if self._stats is None else self._stats.n_rows


def load(path):
    """Read a cali-reg model file: a ``LinearRegression`` (float model) or a
    ``QuantizedLinearRegression``. Reading never executes code."""
    with open(path, "rb") as f:
        # The model format's bound (a device or a pipe that never ends is not read to its end).
        data = f.read(_native.MAX_FILE + 1)
    if len(data) > _native.MAX_FILE:
        raise ValueError(f"{path}: larger than {_native.MAX_FILE >> 20} MiB, not a cali-reg file")
    kind, coef, intercept, names, fit_intercept = _native.describe(data)
    if kind == "quantised":
        return QuantizedLinearRegression._from_file(data, coef, intercept, len(coef))
    model = LinearRegression(fit_intercept=fit_intercept)
    model._model = data
    model.coef_ = np.asarray(coef, dtype=np.float64)
    model.intercept_ = float(intercept)
    model.n_features_in_ = len(coef)
    if names and not all(n == f"x{j}" for j, n in enumerate(names)):
        model.feature_names_in_ = np.asarray(names, dtype=object)
    return model
