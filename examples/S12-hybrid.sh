#!/usr/bin/env bash
# S12: the hybrid: the NCF of S12-ncf.toml with a fixed, pretrained vector per item
# concatenated before the output layer, read from a file of item id -> vector.
#
#   bash examples/S12-hybrid.sh DATA VECTORS OUT
#
# DATA: a ratings table or a registry name; VECTORS: a .csv / .parquet / .npy / .npz of
# item vectors (see `ncf.data.io.features`), or "genres" for the data's genres as multi-hot
# vectors (written by `ncf data genres`). Example on ML-100K:
#
#   bash examples/S12-hybrid.sh ml-100k genres runs/S12-hybrid
set -euo pipefail
if [ $# -ne 3 ]; then
    echo "usage: bash examples/S12-hybrid.sh DATA VECTORS OUT" >&2
    exit 2
fi
data=$1 vectors=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
if [ "$vectors" = genres ]; then
    mkdir -p "$out"
    vectors="$out/genres.csv"
    ncf data genres "$data" --out "$vectors" --overwrite
fi
ncf train --config "$here/S12-ncf.toml" --data "$data" --set item_features="$vectors" \
    --out "$out/run"
