"""How far skl2onnx's export of scikit-learn's LinearRegression is from scikit-learn, in
onnxruntime, on California's seed split: fed float32 rows (its documented usage, and the type
its examples export with) and float64 rows. docs/GUIDE.md ("ONNX") quotes the figures;
`cali-reg export`'s own files are held to 1e-12 by crates/cli/tests/export.rs.

    target/venv-test/bin/python docs/compare/skl2onnx_error.py "$CALI_REG_DATA"
"""
import sys

import numpy as np
import onnxruntime
import pandas as pd
import skl2onnx
import sklearn
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split

raw = pd.read_csv(sys.argv[1])
col = lambda name: raw[name].to_numpy(dtype=np.float64)
X = np.column_stack([
    col("median_income"), col("housing_median_age"),
    col("total_rooms") / col("households"), col("total_bedrooms") / col("households"),
    col("population"), col("population") / col("households"),
    col("latitude"), col("longitude"),
])
y = col("median_house_value") / 100000
X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.2, random_state=42)
model = LinearRegression().fit(X_train, y_train)
reference = model.predict(X_test)
print(f"scikit-learn {sklearn.__version__}, skl2onnx {skl2onnx.__version__}, onnxruntime {onnxruntime.__version__}")
for dtype in (np.float32, np.float64):
    onx = skl2onnx.to_onnx(model, X_train[:1].astype(dtype))
    session = onnxruntime.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    (predicted,) = session.run(None, {session.get_inputs()[0].name: X_test.astype(dtype)})
    error = np.abs(predicted[:, 0].astype(np.float64) - reference)
    print(f"{np.dtype(dtype).name}: {len(error)} test rows, largest |difference| {error.max():.2e}, "
          f"median {np.median(error):.2e}, {len(onx.SerializeToString())} bytes")
