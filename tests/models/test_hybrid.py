"""The hybrid: what it copies from its base model, what stays frozen, and its scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ncf.errors import UsageError
from ncf.models import MODELS
from ncf.models.hybrid import Hybrid


def base_model():
    torch.manual_seed(0)
    base = MODELS["mf-bias"](7, 9, dim=4)
    with torch.no_grad():
        for table in (base.user_emb, base.item_emb, base.user_bias, base.item_bias):
            table.weight.normal_()
    return base


@pytest.mark.parametrize("width", [8, 3, 0])  # 3: as wide as the metadata; 0: no layer
def test_it_copies_the_base_and_scores_every_item_as_forward_does(width):
    base = base_model()
    model = Hybrid(7, 9, user_dim=4, item_dim=4, feature_dim=3, metadata_width=width)
    model.set_item_features(np.eye(9, 3, dtype=np.float32))
    model.start_from({"base": base})
    for name in ("user_emb", "item_emb", "user_bias", "item_bias"):
        assert torch.equal(getattr(model, name).weight, getattr(base, name).weight), name
    assert (model.metadata is not None) == (width > 0)
    model.eval()
    users = torch.tensor([0, 3, 6])
    pairs = model(users.repeat_interleave(9), torch.arange(9).repeat(3)).view(3, 9)
    torch.testing.assert_close(model.score_all(users), pairs, rtol=1e-5, atol=1e-5)


def test_the_copied_tables_train_only_once_unfrozen():
    model = Hybrid(7, 9, user_dim=4, item_dim=4, feature_dim=3)
    model.start_from({"base": base_model()})
    model.set_item_features(np.ones((9, 3), dtype=np.float32))
    model(torch.arange(7), torch.arange(7)).sum().backward()
    assert model.item_emb.weight.grad is None and model.user_emb.weight.grad is None
    assert model.metadata.weight.grad is not None and model.item_bias.weight.grad is not None
    model.unfreeze()
    model(torch.arange(7), torch.arange(7)).sum().backward()
    assert model.item_emb.weight.grad.abs().sum() > 0


def test_a_base_without_embedding_tables_is_refused():
    with pytest.raises(UsageError, match="no user and item embedding tables"):
        Hybrid.shapes_from_runs({"base": MODELS["ease"](7, 9)})
    with pytest.raises(ValueError, match="start_from=base:RUN_DIR"):
        Hybrid(7, 9)
