#!/usr/bin/env bash
# The graph models beside the others on ML-1M: `graph_table.sh ml-1m`.
#
#   NCF_DATA_DIR=../shared/data bash benchmarks/graph_ml1m.sh [OUT] [THREADS]
set -euo pipefail
exec bash "$(dirname "$0")/graph_table.sh" ml-1m "${1:-runs/graph-ml1m}" "${2:-0}"
