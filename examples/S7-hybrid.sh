#!/usr/bin/env bash
# S7: Collie's hybrid in two runs: the matrix factorisation of S7-collie-ml100k.toml,
# then the hybrid of S7-hybrid.toml on its user and item embeddings (frozen, then
# fine-tuned). A finished MF run is reused: OUT/mf, or MF_RUN when given.
#
#   bash examples/S7-hybrid.sh runs/S7 [runs/S7-mf]
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: bash examples/S7-hybrid.sh OUT [MF_RUN]" >&2
    exit 2
fi
out=$1
mf=${2:-$out/mf}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -f "$mf/metrics.json" ]; then
    ncf train --config "$here/S7-collie-ml100k.toml" --out "$mf" --overwrite
fi
ncf train --config "$here/S7-hybrid.toml" --set start_from="base:$mf" --out "$out/hybrid" --overwrite
