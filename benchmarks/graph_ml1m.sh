#!/usr/bin/env bash
# The graph models, Mult-VAE and the linear baselines beside the other implicit models
# on ML-1M: all 1,000,209 ratings as interactions, each user's split 70 / 10 / 20 at
# random, full ranking (training items excluded), --k 20, every model with its defaults
# (epochs chosen on validation, then refit on train + validation for the test). A run
# stopped part-way (Ctrl-C) resumes
# from its checkpoint when the script is started again. Prints the table the README
# quotes, from each run's metrics.json.
#
#   NCF_DATA_DIR=../shared/data bash benchmarks/graph_ml1m.sh [OUT] [THREADS]
set -euo pipefail
out=${1:-runs/graph-ml1m}
threads=${2:-0}
models=${MODELS:-popularity gf-cf ease ials item-knn mult-vae bpr-mf lightgcn ngcf}
mkdir -p "$out"
for m in $models; do
    [ -f "$out/$m/metrics.json" ] && continue
    again=(--overwrite)
    if compgen -G "$out/$m/checkpoint-*.pt" > /dev/null; then again=(--resume); fi
    ncf train --model "$m" --data ml-1m --split user-ratio:0.7,0.1,0.2 --k 20 \
        --threads "$threads" --no-progress --out "$out/$m" "${again[@]}" >> "$out/$m.log" 2>&1
done
python - "$out" $models <<'PY'
import json, sys
from pathlib import Path

out, models = Path(sys.argv[1]), sys.argv[2:]
runs = {m: json.loads((out / m / "metrics.json").read_text()) for m in models}
base = runs.get("bpr-mf", {}).get("test", {}).get("recall@20")
print("| model | test recall@20 | test ndcg@20 | x BPR-MF | valid recall@20 | best epoch | fit s |")
print("|---|---|---|---|---|---|---|")
for m, r in runs.items():
    ratio = f"{r['test']['recall@20'] / base:.3f}" if base else "-"
    print(
        f"| {m} | {r['test']['recall@20']:.4f} | {r['test']['ndcg@20']:.4f} | {ratio} "
        f"| {r['valid']['recall@20']:.4f} | {r['best_epoch']}/{r['epochs_run']} "
        f"| {r['timing']['fit_s']:.0f} |"
    )
PY
