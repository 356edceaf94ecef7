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
import tempfile

import numpy as np

from . import _native

__all__ = ["LinearRegression", "QuantizedLinearRegression", "load"]
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
    """X as a C-contiguous float64 2-D array (scikit-learn's rules when it is there)."""
    if _SKLEARN and model is not None:
        return np.ascontiguousarray(validate_data(model, X, dtype=np.float64, reset=reset))
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array, got {X.ndim}-D")
    if not np.all(np.isfinite(X)):
        raise ValueError("Input X contains NaN or infinity.")
    return X


def _write_atomically(path, data):
    """Write through a temporary file and a rename: never half a file."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".cali-reg-tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class _Saved:
    """What fitted and loaded models share: the model file's bytes, prediction through them."""

    def save(self, path):
        """Write the model file (the format of ``cali-reg``'s ``artifacts/*.msgpack``)."""
        self._check_fitted()
        _write_atomically(path, self._model)

    def to_bytes(self):
        """The model file's bytes."""
        self._check_fitted()
        return bytes(self._model)

    def _predict_floats(self, X):
        n, p = X.shape
        return np.asarray(_native.predict(self._model, X.tobytes(), n, p), dtype=np.float64)


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
    """

    def __init__(self, fit_intercept=True):
        self.fit_intercept = fit_intercept

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n_samples, n_features), y (n_samples,), optional sample_weight."""
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
        X = np.ascontiguousarray(X)
        y = np.ascontiguousarray(y, dtype=np.float64)
        n, p = X.shape
        if n < 2:
            raise ValueError(f"Found {n} sample(s) while a minimum of 2 is required (n_samples = {n}).")
        names = [str(c) for c in getattr(self, "feature_names_in_", [])] or [f"x{j}" for j in range(p)]
        weights = None if sample_weight is None else np.ascontiguousarray(sample_weight).tobytes()
        coef, intercept, model, condition = _native.fit(
            X.tobytes(), n, p, y.tobytes(), weights, bool(self.fit_intercept), names
        )
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = float(intercept)
        self.condition_number_ = float(condition)
        self._model = model
        return self

    def predict(self, X):
        """Predictions for the rows of X, computed as ``cali-reg predict`` computes them."""
        self._check_fitted()
        return self._predict_floats(_floats(X, self, reset=False))

    def quantize(self):
        """The uint8 model of this one: one affine uint8 tensor for the weights and a
        bias-corrected float intercept (``cali-reg quantize``)."""
        self._check_fitted()
        data, coef, intercept = _native.quantize(self._model)
        return QuantizedLinearRegression._from_file(data, coef, intercept, self.n_features_in_)

    def _check_fitted(self):
        if _SKLEARN:
            check_is_fitted(self)
        elif not hasattr(self, "coef_"):
            raise AttributeError("This LinearRegression instance is not fitted yet: call fit first.")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class QuantizedLinearRegression(_Saved):
    """A uint8 model (from ``LinearRegression.quantize`` or a loaded ``quant_model.msgpack``):
    ``predict`` and ``save``; ``coef_`` holds the weights as the codes decode."""

    @classmethod
    def _from_file(cls, data, coef, intercept, n_features):
        model = cls()
        model._model, model.coef_, model.intercept_ = data, np.asarray(coef, dtype=np.float64), float(intercept)
        model.n_features_in_ = n_features
        return model

    def predict(self, X):
        """Predictions for the rows of X."""
        X = _floats(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but the model takes {self.n_features_in_}")
        return self._predict_floats(X)

    def _check_fitted(self):
        pass


def load(path):
    """Read a cali-reg model file: a ``LinearRegression`` (float model) or a
    ``QuantizedLinearRegression``. Reading never executes code."""
    with open(path, "rb") as f:
        data = f.read()
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
