"""Without scikit-learn the estimator still fits, predicts, scores, saves and loads."""
import subprocess
import sys

SCRIPT = r'''
import sys
sys.modules["sklearn"] = None  # as if it were not installed: importing it fails
import numpy as np
import cali_reg
rng = np.random.default_rng(0)
X = rng.uniform(-5, 5, size=(200, 3))
y = X @ np.array([1.5, -2.0, 0.5]) + 3.0 + rng.normal(0, 0.1, 200)
model = cali_reg.LinearRegression().fit(X, y)
assert np.allclose(model.coef_, [1.5, -2.0, 0.5], atol=0.05), model.coef_
assert model.score(X, y) > 0.99
model.save(sys.argv[1])
back = cali_reg.load(sys.argv[1])
assert np.array_equal(back.predict(X), model.predict(X))
assert model.get_params() == {"fit_intercept": True}
print("ok")
'''


def test_fit_predict_save_load_without_scikit_learn(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "m.msgpack")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
