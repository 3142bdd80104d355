#!/usr/bin/env bash
# S10: NGCF on ML-100K in the "user item item ..." list format, as the notebook: the
# ratings become interactions, each user's are split 70 / 10 / 20 at random into
# train.txt / valid.txt / test.txt (indices, with user_list.txt / item_list.txt), then
# examples/S10-ngcf.toml trains on them; LightGCN runs on the same files beside it.
#
#   bash examples/S10-ngcf.sh DATA OUT          # e.g. ml-100k runs/S10
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: bash examples/S10-ngcf.sh DATA OUT" >&2
    exit 2
fi
data=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
ncf data split "$data" --split user-ratio:0.7,0.1,0.2 --format lists --out "$out/lists" \
    --overwrite
ncf train --config "$here/S10-ngcf.toml" --data "$out/lists" --out "$out/ngcf" --overwrite
ncf train --model lightgcn --data "$out/lists" --out "$out/lightgcn" --overwrite
