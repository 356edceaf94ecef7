"""The Python original's quantise step, for timing beside `cali-reg quantize`.

Loads the joblib model that train_equivalent.py wrote, codes coefficients and intercept as uint8
over their own range, checks the dequantised values, and saves them with joblib.

    python docs/compare/quantize_equivalent.py /tmp/model.joblib /tmp/quant.joblib
"""
import sys

import joblib
import numpy as np

model = joblib.load(sys.argv[1])
params = np.append(model.coef_, model.intercept_).astype(np.float32)
lo, hi = float(params.min()), float(params.max())
scale = (hi - lo) / 255.0 if hi > lo else 1.0
codes = np.round((params - lo) / scale).astype(np.uint8)
restored = codes.astype(np.float32) * scale + lo
print(f"max error {np.abs(restored - params).max():.4g}")
joblib.dump({"codes": codes, "scale": scale, "min": lo}, sys.argv[2])
