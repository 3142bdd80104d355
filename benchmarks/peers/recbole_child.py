"""RecBole's NeuMF, BPR and LightGCN on an exported split, one model per process (run by
run.py with the Python of ``.venvs/recbole``; see common.py for the arguments).

    .venvs/recbole/bin/python benchmarks/peers/recbole_child.py --split SPLIT/ranking.npz \\
        --model neumf --epochs 10 --settings '{"factors": 8, ...}' --out curve.json

The training rows are written as RecBole atomic files (``bench.train.inter``; the test
rows as its ``valid`` and ``test`` files, which RecBole's own evaluation would use and
this benchmark does not) plus ``bench.item`` listing every item, so that items without a
training row still get an id, as in the other libraries. RecBole builds its dataset and
training dataloader (its negative sampler) from them; each epoch is its
``Trainer._train_epoch``, and the test candidates are scored with ``model.predict``.
Files are written to the working directory (the driver runs children in a temporary one).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import recbole
import torch
from common import Curve, child_arguments, load_split
from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.data.interaction import Interaction
from recbole.model.general_recommender import BPR, LightGCN, NeuMF
from recbole.trainer import Trainer
from recbole.utils import init_seed

MODELS = {"neumf": NeuMF, "bpr": BPR, "lightgcn": LightGCN}


def model_settings(model: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The benchmark's settings of ``model`` in RecBole's names."""
    if model == "neumf":
        return {
            "mf_embedding_size": settings["factors"],
            "mlp_embedding_size": settings["layers"][0] // 2,  # the MLP's input is both
            "mlp_hidden_size": settings["layers"][1:],
            "dropout_prob": 0.0,
        }
    if model == "bpr":
        return {"embedding_size": settings["factors"]}
    return {  # LightGCN, L2 as the authors' code: sum of squares / 2 / batch
        "embedding_size": settings["factors"],
        "n_layers": settings["layers"],
        "reg_weight": settings["reg"],
        "require_pow": True,
    }


def write_atomic_files(split: dict[str, np.ndarray], folder: Path) -> None:
    """``bench.{train,valid,test}.inter`` and ``bench.item`` under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    header = "user_id:token\titem_id:token\n"
    test = np.stack([split["test_users"], split["candidates"][:, 0]], axis=1)
    rows = {"train": np.stack([split["train_users"], split["train_items"]], axis=1)}
    rows |= {"valid": test, "test": test}
    for part, pairs in rows.items():
        with open(folder / f"bench.{part}.inter", "w") as file:
            file.write(header)
            np.savetxt(file, pairs, fmt="%d", delimiter="\t")
    items = np.arange(int(split["n_items"]))
    with open(folder / "bench.item", "w") as file:
        file.write("item_id:token\n")
        np.savetxt(file, items, fmt="%d")


def main() -> None:
    args = child_arguments("RecBole's models on an exported split")
    sys.argv = sys.argv[:1]  # RecBole's Config reads the command line too
    torch.set_num_threads(args.threads)
    split = load_split(args.split)
    curve = Curve(args, split)
    settings = args.settings
    negatives = settings.get("negatives", 1)
    write_atomic_files(split, Path("recbole-data/bench"))
    config = Config(
        model=MODELS[args.model],
        config_dict={
            "data_path": "recbole-data",
            "dataset": "bench",
            "benchmark_filename": ["train", "valid", "test"],
            "load_col": {"inter": ["user_id", "item_id"], "item": ["item_id"]},
            "epochs": args.epochs,
            "train_batch_size": settings["batch_size"],
            "learning_rate": settings["lr"],
            "learner": "adam",
            "train_neg_sample_args": {"distribution": "uniform", "sample_num": negatives},
            "eval_args": {"group_by": "user", "order": "RO", "mode": "full"},
            "device": "cpu",
            "use_gpu": False,
            "seed": 0,
            "show_progress": False,
            "checkpoint_dir": "recbole-saved",
            **model_settings(args.model, settings),
        },
    )
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, _, _ = data_preparation(config, dataset)
    model = MODELS[args.model](config, train_data.dataset).to(config["device"])
    trainer = Trainer(config, model)
    tokens = dataset.field2token_id
    user_ids = np.array([tokens["user_id"][str(u)] for u in split["test_users"]])
    item_index = np.array([tokens["item_id"][str(i)] for i in range(int(split["n_items"]))])
    candidates = item_index[split["candidates"]]  # (Q, 1 + N) RecBole's item ids
    width = candidates.shape[1]

    @torch.no_grad()
    def predict() -> np.ndarray:
        model.eval()
        scores = []
        for start in range(0, len(user_ids), 1024):
            rows = slice(start, start + 1024)
            users = torch.from_numpy(np.repeat(user_ids[rows], width))
            items = torch.from_numpy(candidates[rows].reshape(-1))
            pairs = Interaction({"user_id": users, "item_id": items})
            scores.append(model.predict(pairs).reshape(-1, width).float().numpy())
        return np.concatenate(scores)

    curve.loaded()
    for epoch in range(args.epochs):
        trainer._train_epoch(train_data, epoch)  # what Trainer.fit runs each epoch
        curve.evaluate(epoch + 1, predict)
        if curve.over_time():
            break
    note = (
        f"batch {settings['batch_size']}, lr {settings['lr']:g}, adam, "
        f"{negatives} uniform negative(s)"
    )
    if "reg" in settings:
        note += f", reg_weight {settings['reg']:g} (require_pow)"
    curve.write({"recbole": recbole.__version__, "torch": torch.__version__}, note)


if __name__ == "__main__":
    main()
