#!/usr/bin/env bash
# S10: NGCF on ML-100K in the "user item item ..." list format, as the notebook: the
# ratings become interactions, each user's are split 70 / 10 / 20 at random into
# train.txt / valid.txt / test.txt (indices, with user_list.txt / item_list.txt), then
# examples/S10-ngcf.toml trains on them; LightGCN runs on the same files beside it.
#
# With a third argument, the folder of the Gowalla benchmark split (train.txt /
# test.txt, as NGCF and LightGCN published it), NGCF and LightGCN train on it too, with
# their defaults, and the training-free ChebyCF beside them: the published figures are
# NGCF .1570, LightGCN .1830, ChebyCF .1941 test Recall@20 (hours on a CPU for the two
# trained models; a run stopped with Ctrl-C continues with --resume).
#
#   bash examples/S10-ngcf.sh DATA OUT          # e.g. ml-100k runs/S10
#   bash examples/S10-ngcf.sh ml-100k runs/S10 "$NCF_DATA_DIR/gowalla"
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: bash examples/S10-ngcf.sh DATA OUT [GOWALLA_DIR]" >&2
    exit 2
fi
data=$1 out=$2 gowalla=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
ncf data split "$data" --split user-ratio:0.7,0.1,0.2 --format lists --out "$out/lists" \
    --overwrite
ncf train --config "$here/S10-ngcf.toml" --data "$out/lists" --out "$out/ngcf" --overwrite
ncf train --model lightgcn --data "$out/lists" --out "$out/lightgcn" --overwrite
if [ -n "$gowalla" ]; then
    for model in chebycf lightgcn ngcf; do
        ncf train --model "$model" --data "$gowalla" --k 20 --out "$out/gowalla-$model" \
            --overwrite
    done
fi
