"""The Python original's train step, for timing beside `cali-reg train`.

fetch_california_housing cannot download here, so the same derivation is applied to the local CSV
(columns reordered, three ratios over households, target / 100000); then train_test_split,
LinearRegression, the metrics and joblib.dump, as the original does.

    python docs/compare/train_equivalent.py "$CALI_REG_DATA" /tmp/model.joblib
"""
import sys

import joblib
import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)[:, [8, 7, 2, 3, 4, 5, 6, 1, 0]]
y, X = data[:, 0] / 100000.0, data[:, 1:].copy()
X[:, 2] /= X[:, 5]
X[:, 3] /= X[:, 5]
X[:, 5] = X[:, 4] / X[:, 5]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
model = LinearRegression().fit(X_train, y_train)
predicted = model.predict(X_test)
print(f"R2 {r2_score(y_test, predicted):.4f} RMSE {np.sqrt(mean_squared_error(y_test, predicted)):.4f}")
joblib.dump(model, sys.argv[2])
