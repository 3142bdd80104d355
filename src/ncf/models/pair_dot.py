"""Scores of sampled (user, item) pairs of a factor model, <p_u, q_i> + b_u + b_i, with a
sparse backward on the CPU.

The plain way gathers the rows a batch needs ((B, d) users, (B, n, d) items), multiplies
them and adds their gradients back row by row: several times the batch's bytes through
memory, most of a BPR-MF step on the CPU. Here the batch's pairs are a sparse (users x
items) matrix, one entry per pair, its rows sorted by user:

- the scores are its sampled dense product with the two tables
  (`torch.sparse.sampled_addmm`);
- the user table's gradient is the gradient matrix times the item table, the item
  table's its transpose times the user table (two sparse-dense products).

No (B, d) tensor is made. The numbers are the gathering path's up to the order of float
sums (`tests/models/test_pair_dot.py`); a BPR-MF step at batch 16,384 takes about two
thirds of the time (`benchmarks/throughput.py`). Small batches gather (`pair_dot`).

    >>> scores = pair_dot(user_w, item_w, user_b, item_b, users, items)   # (B, n)
"""

from __future__ import annotations

import warnings

import torch

from ncf.models.base import gather_rows


def pair_dot(
    user_w: torch.Tensor,
    item_w: torch.Tensor,
    user_b: torch.Tensor,
    item_b: torch.Tensor,
    users: torch.Tensor,
    items: torch.Tensor,
) -> torch.Tensor:
    """(B, n) scores of users (B,) with items (B, n): the rows' dot products plus the
    (n_users, 1) and (n_items, 1) biases.

    The sparse path is taken on the CPU, for float32 or float64 tables, when the batch
    has more pairs than the tables have rows: its products write whole tables, which a
    smaller batch's gathered rows beat (BPR-MF on ML-1M: 1.2-1.5x faster a step from 12K
    pairs up, 10-20% slower below 10K). Rows are gathered instead on other devices and
    dtypes, while `torch.compile` traces, and when the batch has more pairs than the
    tables have (user, item) cells (torch's sampled product refuses more entries than its
    dense matrix has)."""
    pairs, n_users, n_items = items.numel(), len(user_w), len(item_w)
    if sparse_path(user_w, item_w) and n_users + n_items < pairs <= n_users * n_items:
        return _PairDot.apply(user_w, item_w, user_b, item_b, users.long(), items.long())
    return gathered_pair_dot(user_w, item_w, user_b, item_b, users, items)


def gathered_pair_dot(
    user_w: torch.Tensor,
    item_w: torch.Tensor,
    user_b: torch.Tensor,
    item_b: torch.Tensor,
    users: torch.Tensor,
    items: torch.Tensor,
) -> torch.Tensor:
    """`pair_dot` by gathering the rows (`gather_rows`: autograd adds their gradients
    back)."""
    user, vectors = gather_rows(user_w, users), gather_rows(item_w, items)  # (B, d), (B, n, d)
    biases = gather_rows(item_b, items)[..., 0]  # (B, n)
    return (vectors * user[:, None]).sum(2) + biases + gather_rows(user_b, users)


def sparse_path(*tables: torch.Tensor) -> bool:
    """Whether `pair_dot` takes the sparse path for these tables."""
    return (
        all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64) for t in tables)
        and not torch.compiler.is_compiling()
    )


def pair_counts(
    users: torch.Tensor, items: torch.Tensor, n_users: int, n_items: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """How many of a batch's pairs each user and each item is in: (n_users,), (n_items,)."""
    user_counts = torch.bincount(users.long(), minlength=n_users) * items.shape[1]
    return user_counts, torch.bincount(items.reshape(-1).long(), minlength=n_items)


def _csr(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, size) -> torch.Tensor:
    with warnings.catch_warnings():  # torch's "beta" notice: what is used here works
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, col, values, size, check_invariants=False)


def _argsort(keys: torch.Tensor, bound: int) -> torch.Tensor:
    """The order that sorts ``keys`` (all below ``bound``). torch sorts 32,768 or more
    int32 keys on the CPU with a radix sort, fewer with a comparison sort several times
    slower from a few thousand up: such keys are sorted with larger ones appended."""
    if bound >= 2**31:
        return torch.argsort(keys)
    keys, n = keys.int(), len(keys)
    if 4096 < n < 32768:
        keys = torch.cat([keys, keys.new_full((32768 - n,), bound)])
    return torch.argsort(keys)[:n]


def _offsets(counts: torch.Tensor) -> torch.Tensor:
    """CSR row offsets from the rows' entry counts."""
    crow = counts.new_zeros(len(counts) + 1)
    torch.cumsum(counts, 0, out=crow[1:])
    return crow


class _PairDot(torch.autograd.Function):
    """The sparse path. Its CSR matrices keep a row's columns in batch order, repeats
    included (a pair drawn twice is two entries): torch's invariants want them sorted and
    distinct, which would take a sort per row and a merge, but its CPU kernels used here
    (`sampled_addmm`, CSR x dense) treat every entry on its own, so each entry's score and
    gradient is the pair's (`tests/models/test_pair_dot.py` checks repeats); the tensors
    are built with ``check_invariants=False``."""

    @staticmethod
    def forward(ctx, user_w, item_w, user_b, item_b, users, items):  # type: ignore[override]
        (b, n), (n_users, n_items) = items.shape, (user_w.shape[0], item_w.shape[0])
        flat = items.reshape(-1)
        # one sort for both orders: the users' keys, then the items' after them
        order = _argsort(torch.cat([users, flat + n_users]), n_users + n_items)
        by_user, by_item = order[:b], order[b:] - b
        user_counts, item_counts = pair_counts(users, items, n_users, n_items)
        crow_u, cols_u = _offsets(user_counts), items.index_select(0, by_user).reshape(-1)
        pattern = _csr(crow_u, cols_u, user_w.new_zeros(b * n), (n_users, n_items))
        sampled = torch.sparse.sampled_addmm(pattern, user_w, item_w.T, beta=0.0)
        scores = torch.empty_like(items, dtype=user_w.dtype)
        scores.index_copy_(0, by_user, sampled.values().view(b, n))
        scores += item_b.index_select(0, flat).view(b, n)
        scores += user_b.index_select(0, users)
        ctx.save_for_backward(user_w, item_w, users, flat, by_user, by_item, crow_u, cols_u)
        ctx.item_counts = item_counts
        return scores

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        user_w, item_w, users, flat, by_user, by_item, crow_u, cols_u = ctx.saved_tensors
        n, (n_users, n_items) = grad.shape[1], (user_w.shape[0], item_w.shape[0])
        grad = grad.contiguous().to(user_w.dtype)
        grads: list[torch.Tensor | None] = [None] * 6
        if ctx.needs_input_grad[0]:  # G @ Q, G the (users x items) gradient matrix
            g = _csr(crow_u, cols_u, grad.index_select(0, by_user).reshape(-1), (n_users, n_items))
            grads[0] = torch.addmm(user_w, g, item_w, beta=0.0)
        if ctx.needs_input_grad[1]:  # G^T @ P, G^T laid out by item
            owners = users.repeat_interleave(n).index_select(0, by_item)
            values = grad.reshape(-1).index_select(0, by_item)
            g_t = _csr(_offsets(ctx.item_counts), owners, values, (n_items, n_users))
            grads[1] = torch.addmm(item_w, g_t, user_w, beta=0.0)
        if ctx.needs_input_grad[2]:
            grads[2] = grad.new_zeros(n_users, 1).index_add_(0, users, grad.sum(1, keepdim=True))
        if ctx.needs_input_grad[3]:
            grads[3] = grad.new_zeros(n_items, 1).index_add_(0, flat, grad.reshape(-1, 1))
        return tuple(grads)
