#!/usr/bin/env bash
# Creates the peers' virtual environments under benchmarks/peers/.venvs/ (gitignored), one
# per library, with pinned versions, and prints what is installed. Run once, from anywhere:
#
#     bash benchmarks/peers/setup.sh            # PYTHON=python3.11 by default
#
# Pins and why:
# - RecBole 1.2.1 (the latest) is installed without its dependencies, then they are
#   installed by hand: it requires ray<=2.6.3 (only for its hyper-parameter search, never
#   imported here) and plotly (same); tensorboard and thop are imported at start-up.
# - scipy 1.11.4: RecBole's LightGCN builds its graph with dok_matrix._update, which
#   scipy 1.12 removed ("'dok_matrix' object has no attribute '_update'").
# - numpy 1.26.4: scipy 1.11.4 requires numpy<1.28 (it is built against NumPy 1);
#   pandas 2.2.3: RecBole fills missing values with chained in-place fillna, which
#   pandas 3's copy-on-write turns into a no-op.
# - torch 2.13.0+cpu, the main environment's version: the CPU wheel (here from the local
#   cache, pip's find-links). Asking for "+cpu" fails fast where no CPU build is offered,
#   rather than pulling PyPI's CUDA build of several GB.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venvs="$here/.venvs"
python="${PYTHON:-python3.11}"

make_venv() {  # NAME: a fresh, empty venv
    rm -rf "${venvs:?}/$1"
    "$python" -m venv "$venvs/$1"
}

install() {  # NAME ARGS...: pip install into venv NAME, quietly
    local name="$1"
    shift
    "$venvs/$name/bin/pip" install --quiet "$@"
}

make_venv recbole
install recbole torch==2.13.0+cpu numpy==1.26.4 scipy==1.11.4 pandas==2.2.3 scikit-learn==1.5.2
install recbole --no-deps recbole==1.2.1
install recbole pyyaml tqdm colorlog==4.7.2 colorama==0.4.4 tensorboard thop texttable \
    tabulate psutil torch==2.13.0 numpy==1.26.4

make_venv implicit
install implicit implicit==0.7.3 threadpoolctl

make_venv surprise
install surprise scikit-surprise==1.1.5

echo "(pip's complaint that ray and plotly are missing is expected: see the pins above)"
echo "installed under $venvs:"
"$venvs/recbole/bin/python" -c "import recbole, torch, numpy, scipy, pandas
print(f'recbole {recbole.__version__}: torch {torch.__version__}, numpy {numpy.__version__}, '
      f'scipy {scipy.__version__}, pandas {pandas.__version__}')"
"$venvs/implicit/bin/python" -c "import implicit, numpy, scipy
print(f'implicit {implicit.__version__}: numpy {numpy.__version__}, scipy {scipy.__version__}')"
"$venvs/surprise/bin/python" -c "import surprise, numpy
print(f'scikit-surprise {surprise.__version__}: numpy {numpy.__version__}')"
