"""Model files shared with the command line, both ways, with identical predictions; the
quantised model; loading refuses what is not a model file."""
import os
import subprocess

import numpy as np
import pytest

import cali_reg

from test_california import FEATURES, california


def binary():
    path = os.environ.get("CALI_REG_BIN")
    if not path or not os.path.exists(path):
        pytest.fail("set CALI_REG_BIN to the cali-reg binary (cargo xtask test does)")
    return path


def cli_predictions(artifacts, rows, quantized=False):
    csv = os.path.join(artifacts, "rows.csv")
    with open(csv, "w") as f:
        f.write(",".join(FEATURES) + "\n")
        for row in rows:
            f.write(",".join(repr(float(v)) for v in row) + "\n")
    args = [binary(), "predict", "--artifacts", artifacts, "--input", csv, "--json"]
    if quantized:
        args.append("--quantized")
    out = subprocess.run(args, capture_output=True, text=True, check=True, env={**os.environ})
    import json

    return np.asarray(json.loads(out.stdout)["predictions"])


def test_python_model_served_by_the_command_line(tmp_path):
    X_train, X_test, y_train, _, _, _ = california()
    import pandas as pd
    model = cali_reg.LinearRegression().fit(pd.DataFrame(X_train, columns=FEATURES), y_train)
    model.save(tmp_path / "linear_model.msgpack")
    model.quantize().save(tmp_path / "quant_model.msgpack")
    rows = X_test[:50]
    np.testing.assert_array_equal(cli_predictions(str(tmp_path), rows), model.predict(pd.DataFrame(rows, columns=FEATURES)))
    np.testing.assert_array_equal(
        cli_predictions(str(tmp_path), rows, quantized=True), model.quantize().predict(rows)
    )


def test_command_line_model_loaded_in_python(tmp_path):
    artifacts = str(tmp_path)
    env = {**os.environ}
    subprocess.run([binary(), "train", "--artifacts", artifacts], check=True, capture_output=True, env=env)
    subprocess.run([binary(), "quantize", "--artifacts", artifacts], check=True, capture_output=True, env=env)
    _, X_test, _, _, _, _ = california()
    rows = X_test[:50]
    float_model = cali_reg.load(os.path.join(artifacts, "linear_model.msgpack"))
    assert isinstance(float_model, cali_reg.LinearRegression)
    assert list(float_model.feature_names_in_) == FEATURES
    quantised = cali_reg.load(os.path.join(artifacts, "quant_model.msgpack"))
    assert isinstance(quantised, cali_reg.QuantizedLinearRegression)
    import pandas as pd
    frame = pd.DataFrame(rows, columns=FEATURES)
    np.testing.assert_array_equal(float_model.predict(frame), cli_predictions(artifacts, rows))
    np.testing.assert_array_equal(quantised.predict(rows), cli_predictions(artifacts, rows, quantized=True))


def test_a_pickle_is_not_a_model(tmp_path):
    import pickle

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(cali_reg.LinearRegression()))
    with pytest.raises(ValueError):
        cali_reg.load(path)


def test_an_endless_file_is_refused_not_read_to_the_end():
    # /dev/zero never ends: the command line refuses it after 64 MiB, and so does load().
    with pytest.raises(ValueError, match="larger than 64 MiB, not a cali-reg file"):
        cali_reg.load("/dev/zero")
