#!/usr/bin/env bash
# S7: Collie's hybrid in two runs: the matrix factorisation of S7-collie-ml100k.toml,
# then the hybrid of S7-hybrid.toml on its user and item embeddings (frozen, then
# fine-tuned). A finished MF run in OUT/mf is reused.
#
#   bash examples/S7-hybrid.sh runs/S7
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: bash examples/S7-hybrid.sh OUT" >&2
    exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -f "$out/mf/metrics.json" ]; then
    ncf train --config "$here/S7-collie-ml100k.toml" --out "$out/mf" --overwrite
fi
ncf train --config "$here/S7-hybrid.toml" --set base_run="$out/mf" --out "$out/hybrid" --overwrite
