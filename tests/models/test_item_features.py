"""GMF / MLP / NeuMF with a fixed vector per item before the output layer (S12)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ncf.inference.bundle import load_parts, save_bundle
from ncf.models import GMF, MLP, NeuMF
from tests.conftest import rated_checkerboard

MODELS = {
    "gmf": lambda f: GMF(12, 10, dim=4, feature_dim=f),
    "mlp": lambda f: MLP(12, 10, layers=[8, 4], feature_dim=f),
    "neumf": lambda f: NeuMF(12, 10, dim=4, layers=[8, 4], feature_dim=f),
}
VECTORS = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)


def hybrid(name):
    torch.manual_seed(0)
    model = MODELS[name](3)
    model.set_item_features(VECTORS)
    with torch.no_grad():  # the vectors' weights start at zero; give them a value
        model.out.weight[0, -3:] = torch.tensor([0.5, -1.0, 2.0])
    return model.eval()


@pytest.mark.parametrize("name", MODELS)
def test_the_vector_enters_the_score_through_the_output_layer(name):
    model = hybrid(name)
    users, items = torch.tensor([1, 1]), torch.tensor([2, 5])
    before = model(users, items)
    with torch.no_grad():
        model.out.weight[0, -3:] = 0.0
    plain = model(users, items)
    expected = torch.from_numpy(VECTORS[[2, 5]]) @ torch.tensor([0.5, -1.0, 2.0])
    torch.testing.assert_close(before - plain, expected)


@pytest.mark.parametrize("name", MODELS)
def test_score_all_agrees_with_forward_and_bundles_keep_the_vectors(name, tmp_path):
    model = hybrid(name)
    users = torch.tensor([0, 4, 11])
    every = model.score_all(users)
    pairs = model(users.repeat_interleave(10), torch.arange(10).repeat(3)).view(3, -1)
    torch.testing.assert_close(pairs, every, rtol=1e-5, atol=1e-5)
    save_bundle(tmp_path / "b", model, rated_checkerboard(12, 10))
    loaded, _, _ = load_parts(tmp_path / "b")
    assert loaded.hparams["feature_dim"] == 3
    torch.testing.assert_close(loaded.item_features, torch.from_numpy(VECTORS))
    torch.testing.assert_close(loaded.score_all(users), every)


@pytest.mark.parametrize("name", MODELS)
def test_the_vectors_are_fixed_and_their_weights_train(name):
    model = hybrid(name).train()
    assert "item_features" not in dict(model.named_parameters())
    model(torch.arange(12), torch.arange(12) % 10).sum().backward()
    assert model.out.weight.grad[0, -3:].abs().sum() > 0


@pytest.mark.parametrize("name", MODELS)
def test_the_vectors_weights_start_at_zero_and_plain_models_have_none(name):
    plain, wide = MODELS[name](0), MODELS[name](3)
    assert "item_features" not in plain.state_dict()
    width = plain.out.weight.shape[1]
    assert wide.out.weight.shape[1] == width + 3
    assert torch.count_nonzero(wide.out.weight[:, width:]) == 0
    with pytest.raises(ValueError, match="shape"):
        wide.set_item_features(np.zeros((10, 4), np.float32))
