"""NeuMF in plain PyTorch, written the way users' notebooks write it: negatives drawn one
row at a time in Python every epoch, a ``Dataset`` of single (user, item, label) samples
batched by a ``DataLoader``, and a Python loop over test users for evaluation. Run by
run.py in the main virtual environment (see common.py for the arguments).

    python benchmarks/peers/notebook_child.py --split SPLIT/ranking.npz --model neumf \\
        --epochs 10 --settings '{"factors": 8, ...}' --minutes 5 --target 0.65 --out curve.json

The model is the NCF paper's NeuMF without pre-training (GMF and MLP embeddings apart, a
ReLU tower, one output layer over both); binary cross-entropy, Adam. Training stops at
``--epochs``, once the test hr@10 reaches ``--target``, or when ``--minutes`` have passed
(checked after every batch; a cut epoch is scored where it stopped, as a fraction).
"""

from __future__ import annotations

import random

import numpy as np
import torch
from common import Curve, child_arguments, load_split
from torch import nn
from torch.utils.data import DataLoader, Dataset


class NeuMF(nn.Module):
    def __init__(self, n_users: int, n_items: int, factors: int, layers: list[int]):
        super().__init__()
        self.gmf_user = nn.Embedding(n_users, factors)
        self.gmf_item = nn.Embedding(n_items, factors)
        self.mlp_user = nn.Embedding(n_users, layers[0] // 2)
        self.mlp_item = nn.Embedding(n_items, layers[0] // 2)
        tower: list[nn.Module] = []
        for size_in, size_out in zip(layers, layers[1:]):
            tower += [nn.Linear(size_in, size_out), nn.ReLU()]
        self.mlp = nn.Sequential(*tower)
        self.out = nn.Linear(factors + layers[-1], 1)
        for embedding in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
            nn.init.normal_(embedding.weight, std=0.01)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        gmf = self.gmf_user(users) * self.gmf_item(items)
        mlp = self.mlp(torch.cat([self.mlp_user(users), self.mlp_item(items)], dim=1))
        return self.out(torch.cat([gmf, mlp], dim=1)).squeeze(1)


class Samples(Dataset):
    """One (user, item, label) per index."""

    def __init__(self, users: list[int], items: list[int], labels: list[float]):
        self.users, self.items, self.labels = users, items, labels

    def __len__(self) -> int:
        return len(self.users)

    def __getitem__(self, index: int) -> tuple[int, int, float]:
        return self.users[index], self.items[index], self.labels[index]


def sample_epoch(
    pairs: list[tuple[int, int]], seen: dict[int, set[int]], n_items: int, negatives: int
) -> Samples:
    """Every training pair, each followed by ``negatives`` items the user has not seen."""
    users, items, labels = [], [], []
    for user, item in pairs:
        users.append(user)
        items.append(item)
        labels.append(1.0)
        for _ in range(negatives):
            negative = random.randrange(n_items)
            while negative in seen[user]:
                negative = random.randrange(n_items)
            users.append(user)
            items.append(negative)
            labels.append(0.0)
    return Samples(users, items, labels)


def main() -> None:
    args = child_arguments("a notebook-style PyTorch NeuMF on an exported split")
    torch.set_num_threads(args.threads)
    random.seed(0)
    torch.manual_seed(0)
    split = load_split(args.split)
    curve = Curve(args, split)
    settings = args.settings
    pairs = list(zip(split["train_users"].tolist(), split["train_items"].tolist()))
    seen: dict[int, set[int]] = {}
    for user, item in pairs:
        seen.setdefault(user, set()).add(item)
    n_users, n_items = int(split["n_users"]), int(split["n_items"])
    model = NeuMF(n_users, n_items, settings["factors"], settings["layers"])
    optimizer = torch.optim.Adam(model.parameters(), lr=settings["lr"])
    loss_function = nn.BCEWithLogitsLoss()

    def predict() -> np.ndarray:
        model.eval()
        scores = []
        with torch.no_grad():
            for user, items in zip(split["test_users"], split["candidates"]):
                users = torch.full((len(items),), int(user), dtype=torch.long)
                scores.append(model(users, torch.tensor(items)).numpy())
        model.train()
        return np.stack(scores)

    curve.loaded()
    for epoch in range(args.epochs):
        samples = sample_epoch(pairs, seen, n_items, settings["negatives"])
        loader = DataLoader(samples, batch_size=settings["batch_size"], shuffle=True)
        done = 0
        for users, items, labels in loader:
            optimizer.zero_grad()
            loss = loss_function(model(users, items), labels.float())
            loss.backward()
            optimizer.step()
            done += 1
            if curve.over_time():
                break
        curve.evaluate(round(epoch + done / len(loader), 3), predict)
        if curve.reached_target() or curve.over_time():
            break
    note = f"batch {settings['batch_size']}, lr {settings['lr']:g}, adam"
    if curve.over_time():
        note += f"; stopped by the {args.minutes:g}-minute cap"
    elif curve.reached_target():
        note += f"; stopped at the target hr@10 {args.target:g}"
    curve.write({"torch": torch.__version__}, note)


if __name__ == "__main__":
    main()
