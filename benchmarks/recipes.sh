#!/usr/bin/env bash
# Runs the rating recipes of examples/ (S5, S6, S9, S11, S12) on their data and prints
# each one's test figures from metrics.json, as the README quotes them.
#
#   NCF_DATA_DIR=../shared/data bash benchmarks/recipes.sh [OUT]
set -euo pipefail
out=${1:-runs/recipes}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
run() {  # name, data, recipe
    ncf train --config "$here/examples/$3" --data "$2" --out "$out/$1" --overwrite \
        > "$out/$1.log" 2>&1
}
run S5-embedding-net ml-100k S5-embedding-net.toml
run S6-mf-bias ml-100k S6-mf-bias.toml
run S6-hogwild ml-100k S6-hogwild.toml
run S6-bpr-sparse ml-100k S6-bpr-sparse.toml
run S9-mf ml-100k S9-mf.toml
run S9-mf-bias ml-100k S9-mf-bias.toml
run S9-concat-net ml-100k S9-concat-net.toml
run S11-autoencoder ml-latest-small S11-autoencoder.toml
run S11-mf ml-latest-small S11-mf.toml
run S12-mf ml-100k S12-mf.toml
run S12-ncf ml-100k S12-ncf.toml
bash "$here/examples/S12-hybrid.sh" ml-100k genres "$out/S12-hybrid" > "$out/S12-hybrid.log" 2>&1
python - "$out" <<'PY'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
print("| recipe | data | test | best epoch | seconds |")
print("|---|---|---|---|---|")
for path in sorted(out.glob("*/metrics.json")) + sorted(out.glob("*/run/metrics.json")):
    m = json.loads(path.read_text())
    name = path.parent.name if path.parent.name != "run" else path.parent.parent.name
    test = ", ".join(f"{k} {v:.4f}" for k, v in m["test"].items() if "@10" not in k or "ndcg" in k)
    print(f"| {name} | {m['data']} | {test} | {m['best_epoch']} | {m['timing']['total_s']:.0f} |")
PY
