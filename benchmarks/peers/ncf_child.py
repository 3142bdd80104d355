"""ncf's models through its Python API, one model on one exported split per process (run
by run.py in the main virtual environment; see common.py for the arguments).

    python benchmarks/peers/ncf_child.py --split SPLIT/ranking.npz --model neumf \\
        --epochs 10 --settings '{"factors": 8, ...}' --out curve.json

Models: ``neumf``, ``neumf-defaults`` (NeuMF with ncf's own defaults, as ``ncf train
--model neumf`` trains it), ``bpr`` (ncf's ``bpr-mf``) and ``lightgcn`` with the benchmark's
settings, and the rating models ``mf``, ``mf-bias``, ``concat-net``, ``embedding-net``,
``autoencoder`` with ncf's defaults, all trained by ``ncf.training.loop.Trainer`` with a
callback that scores the test pairs after each epoch; ``als`` is ncf's ``ials`` (its own
weights), its iterations run one by one as ``IALS.fit`` runs them, so that each is scored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from common import Curve, child_arguments, load_split

import ncf
from ncf.data.interactions import Interactions, Vocabulary
from ncf.experiment.settings import resolve_config
from ncf.models import MODELS
from ncf.models.base import Model, binary_rows, torch_csr
from ncf.random import Generators, seed_torch
from ncf.runtime.device import use_threads
from ncf.training.loop import Trainer

RATING_MODELS = ("mf", "mf-bias", "concat-net", "embedding-net", "autoencoder")


class TimeCap(Exception):
    """Raised after an epoch once ``--minutes`` have passed: training stops there."""


def ncf_values(model: str, settings: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The benchmark's settings of ``model`` as ncf's model name and config values; a
    constant learning rate and no L2 unless the settings give one, as in the peers."""
    common = {"lr": settings.get("lr"), "batch_size": settings.get("batch_size")}
    common |= {"schedule": "none", "reg": settings.get("reg", 0.0)}
    if model == "neumf-defaults":  # what `ncf train --model neumf` trains with
        return "neumf", {}
    if model == "neumf":
        layers = {"layers": settings["layers"], "n_negatives": settings["negatives"]}
        return "neumf", {"dim": settings["factors"], **layers, **common}
    if model == "bpr":
        return "bpr-mf", {"dim": settings["factors"], "n_negatives": 1, **common}
    if model == "lightgcn":
        return "lightgcn", {"dim": settings["factors"], "n_layers": settings["layers"], **common}
    if model in RATING_MODELS:
        return model, {}  # ncf's defaults
    raise SystemExit(f"ncf_child: unknown model {model!r}")


def main() -> None:
    args = child_arguments("ncf's models on an exported split")
    use_threads(args.threads)
    split = load_split(args.split)
    curve = Curve(args, split)
    n_users, n_items = int(split["n_users"]), int(split["n_items"])
    train = Interactions(
        split["train_users"],
        split["train_items"],
        Vocabulary.identity(n_users),
        Vocabulary.identity(n_items),
        ratings=split["train_ratings"].astype(np.float32) if "train_ratings" in split else None,
    )
    if "candidates" in split:
        width = split["candidates"].shape[1]
        users = torch.from_numpy(np.repeat(split["test_users"], width))
        items = torch.from_numpy(split["candidates"].reshape(-1))
    else:
        width = 0
        users, items = torch.from_numpy(split["test_users"]), torch.from_numpy(split["test_items"])

    @torch.no_grad()
    def predict(model: torch.nn.Module) -> np.ndarray:
        """The model's scores of the test pairs, (Q, 1 + N) or (Q,)."""
        model.eval()
        chunks = zip(users.split(1 << 16), items.split(1 << 16))
        scores = torch.cat([model(u, i) for u, i in chunks])
        model.train()
        return scores.float().numpy().reshape(-1, width) if width else scores.float().numpy()

    versions = {"ncf": ncf.__version__, "torch": torch.__version__}
    if args.model == "als":
        model = MODELS["ials"](n_users, n_items, dim=args.settings["factors"])
        curve.loaded()
        als_iterations(model, train.csr(), args.epochs, curve, predict)
        curve.write(versions, "ncf's iALS recipe (Rendle et al.): unobserved weight 0.3, l2 0.007")
        return
    name, values = ncf_values(args.model, args.settings)
    config = resolve_config({"model": name, "epochs": args.epochs, **values})
    seed_torch(config.seed)
    model = MODELS[name](n_users, n_items, **config.model_args)

    def after_epoch(row: dict[str, Any]) -> None:
        curve.evaluate(row["epoch"], lambda: predict(model))
        if curve.over_time():
            raise TimeCap

    trainer = Trainer(
        model,
        train,
        config.train,
        None,  # no selection: the test curve is recorded by the callback
        Generators.from_seed(config.seed),
        callbacks=[after_epoch],
        progress=False,
    )
    curve.loaded()
    try:
        trainer.fit()
    except TimeCap:
        pass
    t = config.train
    note = f"batch {t.batch_size}, lr {t.lr:g}, {t.optimizer}, schedule {t.schedule}"
    curve.write(versions, note + (f", reg {t.reg:g}" if t.reg else ""))


def als_iterations(
    model: Model, matrix: sp.csr_matrix, iterations: int, curve: Curve, predict: Any
) -> None:
    """``IALS.fit``'s steps (random start, then users and items solved in turn), scored
    after every iteration."""
    with torch.no_grad():
        generator = torch.Generator().manual_seed(0)
        std = model.hparams["init_std"] / model.hparams["dim"] ** 0.5
        for table in (model.user_emb, model.item_emb):
            table.weight.copy_(torch.randn(table.weight.shape, generator=generator) * std)
        binary = binary_rows(matrix)
        by_user, by_item = torch_csr(binary), torch_csr(binary.T.tocsr())
        users, items = model.user_emb.weight, model.item_emb.weight
        for iteration in range(1, iterations + 1):
            users.copy_(model.solve(by_user, items, users))
            items.copy_(model.solve(by_item, users, items))
            curve.evaluate(iteration, lambda: predict(model))


if __name__ == "__main__":
    main()
