#!/usr/bin/env bash
# S3 offline: the notebook's NCF (examples/S3-ncf-ml25m.toml) on a synthetic log of
# ML-25M's shape (162,541 users, 59,047 items, 25,000,095 ratings), written first by
# `ncf data synth` when it is not there yet.
#
#   bash examples/S3-ncf-synthetic.sh [LOG.parquet] [RUN_DIR]
set -euo pipefail
log="${1:-data/synth-ml25m.parquet}"
out="${2:-runs/S3-ncf-synthetic}"
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -f "$log" ]; then
    ncf data synth --users 162541 --items 59047 --rows 25000095 --seed 0 --out "$log"
fi
ncf train --config "$here/S3-ncf-ml25m.toml" --data "$log" --out "$out"
