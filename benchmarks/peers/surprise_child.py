"""scikit-surprise's rating models (SVD, SVD++, KNNBaseline) on an exported rating split,
one model per process (run by run.py with the Python of ``.venvs/surprise``; see common.py
for the arguments).

    .venvs/surprise/bin/python benchmarks/peers/surprise_child.py --split SPLIT/rating.npz \\
        --model svd --epochs 20 --out curve.json

The training ratings are written as a tab-separated file and read with surprise's
``Reader`` (rating scale: the training ratings' range), as its users load data; each
model keeps its defaults (SVD: 100 factors; SVD++: 20 factors; KNNBaseline: 40
neighbours, MSD similarity between users, ALS baselines), with ``--epochs`` as SVD's and
SVD++'s ``n_epochs``. Surprise fits in one call, so each curve has one point, at the end
(KNNBaseline's at epoch 0: it has no epochs).
Test rows are predicted one by one with ``predict`` (unclipped; the shared metric clips).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import surprise
from common import Curve, child_arguments, load_split
from surprise import SVD, Dataset, KNNBaseline, Reader, SVDpp


def main() -> None:
    args = child_arguments("surprise's rating models on an exported split")
    split = load_split(args.split)
    curve = Curve(args, split)
    path = Path("surprise-train.tsv")
    rows = np.stack([split["train_users"], split["train_items"]], axis=1)
    with open(path, "w") as file:
        for (user, item), rating in zip(rows, split["train_ratings"]):
            file.write(f"{user}\t{item}\t{rating:g}\n")
    scale = (float(split["low"]), float(split["high"]))
    reader = Reader(line_format="user item rating", sep="\t", rating_scale=scale)
    trainset = Dataset.load_from_file(str(path), reader).build_full_trainset()
    models = {
        "svd": lambda: SVD(n_epochs=args.epochs, random_state=0),
        "svdpp": lambda: SVDpp(n_epochs=args.epochs, random_state=0),
        "knn-baseline": lambda: KNNBaseline(verbose=False),
    }
    if args.model not in models:
        raise SystemExit(f"surprise_child: unknown model {args.model!r}")
    model = models[args.model]()
    pairs = list(zip(split["test_users"].tolist(), split["test_items"].tolist()))

    def predict() -> np.ndarray:
        return np.array([model.predict(str(u), str(i), clip=False).est for u, i in pairs])

    curve.loaded()
    model.fit(trainset)
    curve.evaluate(args.epochs if args.model != "knn-baseline" else 0, predict)
    curve.write({"surprise": surprise.__version__}, "single-threaded (Cython); defaults")


if __name__ == "__main__":
    main()
