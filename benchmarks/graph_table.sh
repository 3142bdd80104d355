#!/usr/bin/env bash
# The graph models, the training-free filters, Mult-VAE and the linear baselines side by
# side on one data set, every model with its defaults (epochs chosen on validation, then
# refit on train + validation for the test), full ranking (training items excluded),
# --k 20. DATA: ml-1m (all 1,000,209 ratings as interactions, each user's split 70 / 10 /
# 20 at random) or gowalla (the benchmark split's train.txt / test.txt, each user's last
# training item the validation part). A run stopped part-way (Ctrl-C) resumes from its
# checkpoint when the script is started again. Prints the table RESULTS.md quotes, from
# each run's metrics.json.
#
#   NCF_DATA_DIR=../shared/data bash benchmarks/graph_table.sh DATA [OUT] [THREADS]
#   MODELS="gf-cf chebycf" bash benchmarks/graph_table.sh gowalla runs/gowalla 1
set -euo pipefail
data=${1:?usage: graph_table.sh DATA [OUT] [THREADS]}
out=${2:-runs/graph-$data}
threads=${3:-0}
models=${MODELS:-popularity gf-cf bspm chebycf ease ials item-knn mult-vae bpr-mf lightgcn ngcf}
case $data in
    gowalla) source=("${NCF_DATA_DIR:-../shared/data}/gowalla") ;;
    *) source=("$data" --split user-ratio:0.7,0.1,0.2) ;;
esac
mkdir -p "$out"
for m in $models; do
    [ -f "$out/$m/metrics.json" ] && continue
    again=(--overwrite)
    if compgen -G "$out/$m/checkpoint-*.pt" > /dev/null; then again=(--resume); fi
    ncf train --model "$m" --data "${source[@]}" --k 20 \
        --threads "$threads" --no-progress --out "$out/$m" "${again[@]}" >> "$out/$m.log" 2>&1
done
python - "$out" $models <<'PY'
import json, sys
from pathlib import Path

out, models = Path(sys.argv[1]), sys.argv[2:]
runs = {m: json.loads((out / m / "metrics.json").read_text()) for m in models}
base = runs.get("bpr-mf", {}).get("test", {}).get("recall@20")
print(
    "| model | test recall@20 | test ndcg@20 | x BPR-MF | valid recall@20 | best epoch "
    "| fit s | total s |"
)
print("|---|---|---|---|---|---|---|---|")
for m, r in runs.items():
    ratio = f"{r['test']['recall@20'] / base:.3f}" if base else "-"
    print(
        f"| {m} | {r['test']['recall@20']:.4f} | {r['test']['ndcg@20']:.4f} | {ratio} "
        f"| {r['valid']['recall@20']:.4f} | {r['best_epoch']}/{r['epochs_run']} "
        f"| {r['timing']['fit_s']:.0f} | {r['timing']['total_s']:.0f} |"
    )
PY
