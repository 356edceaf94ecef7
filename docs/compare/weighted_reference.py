"""scikit-learn's figures for `cali-reg train --weight households` (and `--no-intercept`), which
`crates/cli/tests/options.rs` holds the fit to.

The derivation is the original's, from the local CSV (as train_equivalent.py); the weight of a
row is its raw `households` column. train_test_split(test_size=0.2, random_state=42) splits rows
and weights alike; LinearRegression(tol=0) fits with sample_weight; r2_score and
mean_squared_error score the test rows with their weights.

    python docs/compare/weighted_reference.py "$CALI_REG_DATA"
"""
import json
import sys

import numpy as np
import sklearn
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

raw = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
data = raw[:, [8, 7, 2, 3, 4, 5, 6, 1, 0]]
y, X = data[:, 0] / 100000.0, data[:, 1:].copy()
households = raw[:, 6].copy()
X[:, 2] /= X[:, 5]
X[:, 3] /= X[:, 5]
X[:, 5] = X[:, 4] / X[:, 5]
X_train, X_test, y_train, y_test, w_train, w_test = train_test_split(
    X, y, households, test_size=0.2, random_state=42
)
out = {"scikit-learn": sklearn.__version__, "numpy": np.__version__}
for intercept in (True, False):
    model = LinearRegression(fit_intercept=intercept, tol=0).fit(X_train, y_train, sample_weight=w_train)
    predicted = model.predict(X_test)
    out["with_intercept" if intercept else "without_intercept"] = {
        "coefficients": model.coef_.tolist(),
        "intercept": float(model.intercept_),
        "r2": r2_score(y_test, predicted, sample_weight=w_test),
        "rmse": float(np.sqrt(mean_squared_error(y_test, predicted, sample_weight=w_test))),
    }
print(json.dumps(out, indent=2))
