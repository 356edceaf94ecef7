"""Our `summary --json` (argv[2], a file) against statsmodels 0.15 OLS or WLS of the same fit on
California's seed split (argv[1]: the data set; argv[3]: ols, wls (weights households) or
noconst). Prints the largest relative difference of each group of figures, as docs/ACCURACY.md
tabulates them (p-values where both are above 1e-300; statsmodels' are 0 below that)."""
import json
import sys

import numpy as np
import pandas as pd
import statsmodels.api as sm
from sklearn.model_selection import train_test_split

data, ours, kind = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
d = pd.read_csv(data)
X = pd.DataFrame({"MedInc": d.median_income, "HouseAge": d.housing_median_age,
    "AveRooms": d.total_rooms / d.households, "AveBedrms": d.total_bedrooms / d.households,
    "Population": d.population, "AveOccup": d.population / d.households,
    "Latitude": d.latitude, "Longitude": d.longitude})
y, households = d.median_house_value / 100000, d.households
Xtr, _, ytr, _, wtr, _ = train_test_split(X, y, households, test_size=0.2, random_state=42)
exog = Xtr if kind == "noconst" else sm.add_constant(Xtr)
r = (sm.WLS(ytr, exog, weights=wtr) if kind == "wls" else sm.OLS(ytr, exog)).fit()


def rel(a, b):
    a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(np.asarray(b, float))
    return float(np.max(np.abs(a - b) / np.abs(b)))


est = {k: np.array([e[k] for e in ours["estimates"]]) for k in ours["estimates"][0] if k != "name"}
ci = r.conf_int(ours["alpha"]).to_numpy()
p, rp = est["p_value"], r.pvalues.to_numpy()
both = (p > 1e-300) & (rp > 1e-300)
print(json.dumps({
    "coef, t": max(rel(est["coef"], r.params), rel(est["t"], r.tvalues)),
    "std err": rel(est["std_err"], r.bse),
    "intervals": max(rel(est["ci_lower"], ci[:, 0]), rel(est["ci_upper"], ci[:, 1])),
    "p-values": rel(p[both], rp[both]),
    "R², adj. R², F, SSR, scale": max(rel(ours["r2"], r.rsquared), rel(ours["adj_r2"], r.rsquared_adj),
                                      rel(ours["f_statistic"], r.fvalue), rel(ours["ssr"], r.ssr),
                                      rel(ours["scale"], r.scale)),
    "log-likelihood, AIC, BIC": max(rel(ours["log_likelihood"], r.llf), rel(ours["aic"], r.aic),
                                    rel(ours["bic"], r.bic)),
    "condition number": rel(ours["condition_number"], r.condition_number),
}))
