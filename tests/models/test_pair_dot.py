"""`pair_dot`'s sparse path against gathering the rows: scores, gradients, and BPR-MF's
L2 terms computed from its tables."""

import pytest
import torch

from ncf.models import MODELS
from ncf.models.pair_dot import gathered_pair_dot, pair_dot, sparse_path
from ncf.training.losses import l2_penalty


def _tables(n_users, n_items, dim, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shapes = [(n_users, dim), (n_items, dim), (n_users, 1), (n_items, 1)]
    return [torch.randn(*s, generator=gen, dtype=torch.float64, requires_grad=True) for s in shapes]


@pytest.mark.parametrize("n", [1, 2, 9])
def test_sparse_path_scores_and_grads_match_gathering(n):
    n_users, n_items, batch = 60, 40, 200  # every user and item several times over
    gen = torch.Generator().manual_seed(n)
    users = torch.randint(0, n_users - 5, (batch,), generator=gen)  # five users unseen
    items = torch.randint(0, n_items, (batch, n), generator=gen)
    items[:5] = items[5]  # the same pairs more than once
    users[:5] = users[5]
    weights = torch.randn(batch, n, generator=gen, dtype=torch.float64)
    results = []
    for score in (pair_dot, gathered_pair_dot):
        tables = _tables(n_users, n_items, 8)
        assert sparse_path(*tables)
        scores = score(*tables, users, items)
        sparse = type(scores.grad_fn).__name__ == "_PairDotBackward"
        assert sparse == (score is pair_dot)
        (scores * weights).sum().backward()
        results.append((scores.detach(), [t.grad for t in tables]))
    (fast, fast_grads), (plain, plain_grads) = results
    assert fast.shape == (batch, n)
    torch.testing.assert_close(fast, plain)
    for a, b in zip(fast_grads, plain_grads):
        torch.testing.assert_close(a, b)
    assert fast_grads[0][n_users - 5 :].abs().sum() == 0  # unseen users: no gradient


def test_scores_by_hand():
    user_w = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    item_w = torch.tensor([[3.0, 1.0], [2.0, 2.0], [-1.0, 0.5]])
    user_b, item_b = torch.tensor([[0.5], [-0.5]]), torch.tensor([[0.0], [1.0], [2.0]])
    users, items = torch.tensor([1, 0, 1]), torch.tensor([[0, 2], [1, 1], [2, 0]])
    # user 1: <(0,-1),(3,1)> - 0.5 + 0 = -1.5; <(0,-1),(-1,.5)> - 0.5 + 2 = 1.0
    # user 0: <(1,2),(2,2)> + 0.5 + 1 = 7.5 (twice); user 1 with items 2, 0: 1.0, -1.5
    expected = torch.tensor([[-1.5, 1.0], [7.5, 7.5], [1.0, -1.5]])
    for score in (pair_dot, gathered_pair_dot):  # 6 pairs, 5 rows: the sparse path
        torch.testing.assert_close(score(user_w, item_w, user_b, item_b, users, items), expected)


@pytest.mark.parametrize("batch", [6, 300])  # fewer rows than the tables: gathered; more: not
def test_bpr_mf_l2_terms_from_tables_match_gathered(batch):
    torch.manual_seed(0)
    model = MODELS["bpr-mf"](40, 25, dim=6).double()
    torch.nn.init.normal_(model.item_bias.weight)
    users = torch.randint(0, 40, (batch,))
    positives, negatives = torch.randint(0, 25, (batch,)), torch.randint(0, 25, (batch, 3))
    items = torch.cat([positives[:, None], negatives], 1)
    touched = model.touched(users, items)
    assert (touched[0].shape[0] == 40) == (batch == 300)
    flat = items.reshape(-1)
    weight = model.user_emb.weight
    by_rows = [weight[users] * 2.0, model.item_emb.weight[flat], model.item_bias.weight[flat]]
    penalty = l2_penalty(touched, batch)
    torch.testing.assert_close(penalty, l2_penalty(by_rows, batch))
    grads = torch.autograd.grad(penalty, list(model.parameters()), allow_unused=True)
    expected = torch.autograd.grad(
        l2_penalty(by_rows, batch), list(model.parameters()), allow_unused=True
    )
    for a, b in zip(grads, expected):
        if b is None:
            assert a is None or a.abs().sum() == 0
        else:
            torch.testing.assert_close(a, b)


def test_sparse_tables_keep_sparse_gradients():
    model = MODELS["bpr-mf"](20, 15, dim=4, sparse=True)
    users = torch.arange(20)
    positive, negative, touched = model.pair_scores(
        users, users % 15, (users[:, None] + 1) % 15, regularise=True
    )
    (negative.sum() - positive.sum() + l2_penalty(touched, 20)).backward()
    assert model.user_emb.weight.grad.is_sparse and model.item_emb.weight.grad.is_sparse


def test_an_empty_batch_scores_nothing():
    tables = _tables(5, 4, 3)
    users, items = torch.zeros(0, dtype=torch.long), torch.zeros(0, 2, dtype=torch.long)
    assert pair_dot(*tables, users, items).shape == (0, 2)
