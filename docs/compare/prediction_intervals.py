"""Our `predict --interval` columns (argv[2], CSV of every row of the data set argv[1]) against
statsmodels 0.15 `get_prediction(X).summary_frame(alpha=1 - level)` of the same fit (argv[3]:
ols, wls (weights households) or noconst; argv[4]: the level). Prints the largest relative
difference of the half-widths, and of the ends relative to the larger of their value and the
half-width, and of the predictions, as one JSON object. docs/ACCURACY.md gives the commands;
the test inference::prediction_intervals_equal_statsmodels_get_prediction runs this script."""
import json, sys
import numpy as np, pandas as pd, statsmodels.api as sm
from sklearn.model_selection import train_test_split
data, ours, kind, level = sys.argv[1], pd.read_csv(sys.argv[2]), sys.argv[3], float(sys.argv[4])
d = pd.read_csv(data)
X = pd.DataFrame({"MedInc": d.median_income, "HouseAge": d.housing_median_age,
    "AveRooms": d.total_rooms / d.households, "AveBedrms": d.total_bedrooms / d.households,
    "Population": d.population, "AveOccup": d.population / d.households,
    "Latitude": d.latitude, "Longitude": d.longitude})
y, households = d.median_house_value / 100000, d.households
Xtr, _, ytr, _, wtr, _ = train_test_split(X, y, households, test_size=0.2, random_state=42)
if kind == "ols":
    r, new = sm.OLS(ytr, sm.add_constant(Xtr)).fit(), sm.add_constant(X)
elif kind == "wls":
    r, new = sm.WLS(ytr, sm.add_constant(Xtr), weights=wtr).fit(), sm.add_constant(X)
else:
    r, new = sm.OLS(ytr, Xtr).fit(), X
frame = r.get_prediction(new).summary_frame(alpha=1 - level)
out = {"prediction": float(np.max(np.abs(ours.prediction - frame["mean"]) / np.abs(frame["mean"])))}
for k in ["mean", "obs"]:
    half = (frame[k + "_ci_upper"] - frame["mean"]).to_numpy()
    oh = (ours[k + "_ci_upper"] - ours.prediction).to_numpy()
    out[k + "_half"] = float(np.max(np.abs(oh - half) / half))
    out[k + "_ends"] = max(float(np.max(np.abs(ours[f"{k}_ci_{e}"] - frame[f"{k}_ci_{e}"]) / np.maximum(np.abs(frame[f"{k}_ci_{e}"]), half))) for e in ["lower", "upper"])
print(json.dumps(out))
