#!/usr/bin/env bash
# Throughput of `cali-reg serve` and of MLflow's scoring server, side by side, measured by wrk
# (Debian package `wrk`) on loopback: dataframe_split bodies of 1 and 1,000 California rows, and
# the 1,000 rows as a CSV body, 8 connections, 2 wrk threads, 10 s each (WRK_SECONDS to change).
#
# It uses what `cargo xtask conformance` leaves in target/: the venv with MLflow, the saved
# scikit-learn model of the same split, cali-reg's artifacts, and the release binary.
#   CALI_REG_DATA=…/cal_housing.csv cargo xtask conformance && docs/compare/wrk.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
py=$root/target/venv-conformance/bin/python
work=$root/target/conformance
bin=$root/target/release/cali-reg
data=${CALI_REG_DATA:?set CALI_REG_DATA to cal_housing.csv}
seconds=${WRK_SECONDS:-10}
for need in "$py" "$work/mlflow-model" "$work/artifacts" "$bin"; do
    [ -e "$need" ] || { echo "missing $need: run cargo xtask conformance first" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

# The bodies, from the conformance battery's own rows.
"$py" - "$root/xtask/python" "$data" "$tmp" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
from conformance import FEATURES, load_rows
_, rows = load_rows(sys.argv[2], 1000)
for n in (1, 1000):
    with open(f"{sys.argv[3]}/body-{n}.json", "w") as f:
        json.dump({"dataframe_split": {"columns": FEATURES, "data": rows[:n]}}, f)
with open(f"{sys.argv[3]}/body-1000.csv", "w") as f:
    f.write(",".join(FEATURES) + "\n" + "".join(",".join(repr(v) for v in r) + "\n" for r in rows))
PY
cat > "$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("WRK_TYPE")
local f = assert(io.open(os.getenv("WRK_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
LUA

port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ready() {
    for _ in $(seq 1 600); do
        curl -sf "http://127.0.0.1:$1/ping" >/dev/null && return 0
        sleep 0.2
    done
    echo "server on port $1 did not start" >&2; exit 1
}
theirs=$(port); ours=$(port)
PATH="$(dirname "$py"):$PATH" "$py" -m mlflow models serve --env-manager local \
    -h 127.0.0.1 -p "$theirs" -m "$work/mlflow-model" >"$tmp/mlflow.log" 2>&1 &
pids+=($!)
"$bin" serve --quiet --host 127.0.0.1 --port "$ours" --artifacts "$work/artifacts" >"$tmp/ours.log" 2>&1 &
pids+=($!)
ready "$theirs"; ready "$ours"

echo "| server | body | requests/s | latency p50 | p99 | non-2xx |"
echo "|---|--:|--:|--:|--:|--:|"
for body in 1.json 1000.json 1000.csv; do
    case $body in
        1.json) type=application/json label="JSON, 1 row" ;;
        1000.json) type=application/json label="JSON, 1,000 rows" ;;
        *) type=text/csv label="CSV, 1,000 rows" ;;
    esac
    for server in "cali-reg serve:$ours" "MLflow $("$py" -c 'import mlflow; print(mlflow.__version__)') (uvicorn):$theirs"; do
        name=${server%:*}; p=${server##*:}
        out=$(WRK_BODY="$tmp/body-$body" WRK_TYPE=$type wrk -t2 -c8 -d"${seconds}s" --latency \
            -s "$tmp/post.lua" "http://127.0.0.1:$p/invocations")
        rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
        p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
        bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
        echo "| $name | $label | $rps | $p50 | $p99 | ${bad:-0} |"
    done
done
