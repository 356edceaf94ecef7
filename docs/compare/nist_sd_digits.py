"""Correct digits (LRE) of statsmodels' standard deviations of the estimates and residual
standard deviation on the NIST StRD linear-regression sets: the bar `cali-reg summary` is held
to (scikit-learn gives no standard errors; numpy has no function for them).

    target/venv-test/bin/python docs/compare/nist_sd_digits.py ../shared/data/nist
"""
import math
import sys
from pathlib import Path

import numpy as np
import statsmodels.api as sm


def lre(estimate, certified):
    error = abs(estimate) if certified == 0 else abs((estimate - certified) / certified)
    return 15.0 if error == 0 else min(15.0, max(0.0, -math.log10(error)))


def load(path):
    lines = path.read_text().splitlines()
    def span(what):
        line = next(l for l in lines[:10] if l.strip().startswith(what) and "(lines" in l)
        a, b = [int(t) for t in line.replace(")", " ").replace("to", " ").split() if t.isdigit()][:2]
        return a, b
    c0, c1 = span("Certified Values")
    d0, d1 = span("Data")
    sds, resid, intercept = [], None, False
    for line in lines[c0 - 1:c1]:
        t = line.split()
        if len(t) == 3 and t[0].startswith("B") and t[0][1:].isdigit():
            intercept |= t[0] == "B0"
            sds.append(float(t[2]))
        elif t[:2] == ["Standard", "Deviation"]:
            resid = float(t[2])
    rows = [[float(v) for v in l.split()] for l in lines[d0 - 1:d1] if l.split()]
    y = np.array([r[0] for r in rows])
    slopes = len(sds) - int(intercept)
    if len(rows[0]) == 2:
        x = np.array([[r[1] ** k for k in range(1, slopes + 1)] for r in rows])
    else:
        x = np.array([r[1:] for r in rows])
    return x, y, intercept, sds, resid


for name in ["Norris", "Pontius", "NoInt1", "NoInt2", "Filip", "Longley",
             "Wampler1", "Wampler2", "Wampler3", "Wampler4", "Wampler5"]:
    x, y, intercept, sds, resid = load(Path(sys.argv[1]) / f"{name}.dat")
    exog = sm.add_constant(x, has_constant="add") if intercept else x
    r = sm.OLS(y, exog).fit()
    sd_digits = min(lre(e, c) for e, c in zip(r.bse, sds))
    print(f"{name:9} sd {sd_digits:5.1f}  residual sd {lre(math.sqrt(r.scale), resid):5.1f}")
