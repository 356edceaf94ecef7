"""examples/dask_fit.py and examples/spark_fit.py run as written (cali-reg serve from
CALI_REG_BIN), end to end: cluster, fit, held-out R², save, one served request."""
import os
import pathlib
import subprocess
import sys

import pytest

from test_files import binary

EXAMPLES = pathlib.Path(__file__).resolve().parents[3] / "examples"


@pytest.mark.parametrize("example", ["dask_fit.py", "spark_fit.py"])
def test_example_runs_as_written(example):
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / example)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "CALI_REG_BIN": binary()},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    r2 = float(next(l for l in lines if l.startswith("R²")).split()[-1])
    assert r2 > 0.99, out.stdout
    assert any(l.startswith("served [") for l in lines), out.stdout
