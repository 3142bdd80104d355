#!/usr/bin/env bash
# S2 (He et al., WWW 2017): NeuMF pre-trained from a GMF and an MLP, on the NCF paper's
# ML-1M split. Three runs: GMF, MLP, then NeuMF initialised from both (embeddings and
# tower copied, output layer 0.5 * [w_mlp, w_gmf]) and fine-tuned with SGD, as in the paper.
#
#   bash examples/S2-neumf-pretrained.sh DIR [RUNS]
#
# DIR holds the ml-1m.* NCF files; RUNS (default runs/S2) receives the three run folders.
set -euo pipefail
data="${1:?usage: S2-neumf-pretrained.sh DIR [RUNS]}"
runs="${2:-runs/S2}"
here="$(dirname "$0")"
ncf train --config "$here/S2-gmf.toml" --data "$data" --out "$runs/gmf"
ncf train --config "$here/S2-mlp.toml" --data "$data" --out "$runs/mlp"
ncf train --model neumf --data "$data" --out "$runs/neumf-pretrained" \
    --set start_from="gmf:$runs/gmf,mlp:$runs/mlp" \
    --set optimizer=sgd --set momentum=0.9 --lr 0.001 --batch-size 1024 --epochs 10
