"""The Python original's predict step, for timing beside `cali-reg predict`.

Loads the data (same derivation as train_equivalent.py), splits it, loads the joblib model and
prints the first five test predictions, as the original does.

    python docs/compare/predict_equivalent.py "$CALI_REG_DATA" /tmp/model.joblib
"""
import sys

import joblib
import numpy as np
from sklearn.model_selection import train_test_split

data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)[:, [8, 7, 2, 3, 4, 5, 6, 1, 0]]
y, X = data[:, 0] / 100000.0, data[:, 1:].copy()
X[:, 2] /= X[:, 5]
X[:, 3] /= X[:, 5]
X[:, 5] = X[:, 4] / X[:, 5]
_, X_test, _, _ = train_test_split(X, y, test_size=0.2, random_state=42)
model = joblib.load(sys.argv[2])
print("Sample predictions:", np.round(model.predict(X_test[:5]), 3))
