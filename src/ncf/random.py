"""One seed spawns every random generator of a run.

>>> gens = Generators.from_seed(0)
>>> gens.split.integers(10), gens.torch.initial_seed()
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Generators:
    """Independent streams for the split, evaluation negatives, training negatives and
    the torch side (weight init, batch order)."""

    split: np.random.Generator
    eval_negatives: np.random.Generator
    train_negatives: np.random.Generator
    torch: torch.Generator

    @classmethod
    def from_seed(cls, seed: int) -> Generators:
        split, evaluation, train, torch_seed = np.random.SeedSequence(seed).spawn(4)
        gen = torch.Generator()
        gen.manual_seed(int(torch_seed.generate_state(1)[0]))
        return cls(
            np.random.default_rng(split),
            np.random.default_rng(evaluation),
            np.random.default_rng(train),
            gen,
        )


def seed_torch(seed: int) -> None:
    """Seeds torch's global generator (used by weight init and dropout)."""
    torch.manual_seed(seed)
