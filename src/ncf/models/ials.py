"""iALS: implicit alternating least squares (Hu, Koren & Volinsky, ICDM 2008), in the
form and with the tuned recipe of Rendle et al. ("Revisiting the performance of iALS on
item recommendation benchmarks", RecSys 2022).

With X the binary user-item matrix, W the user and H the item vectors, it minimises

    sum_{(u,i) in X} (w_u . h_i - 1)^2  +  unobserved * sum_{u,i} (w_u . h_i)^2
      + l2 * (sum_u (|I_u| + unobserved |I|)^exponent |w_u|^2 + the same for items)

by alternating exact minimisations: with H fixed, every user's vector solves the d x d
system (unobserved H^T H + H_u^T H_u + lambda_u I) w_u = H_u^T 1, and the other way round.
``solver = "cg"`` takes ``cg_steps`` conjugate-gradient steps from the previous vectors
(Takacs et al. 2011), every row at once: the H_u^T H_u w term is one sampled dense
product on the matrix's non-zeros and one sparse product, so no d x d matrix is built
per row. ``solver = "exact"`` forms each row's system from its padded items and solves
them in batches (by LU: torch's batched Cholesky is slower on the CPU). Both run in
torch on the model's device.

The same solve gives a new user's vector from their items with the item vectors fixed
(`ncf.inference.fold_in`).

    >>> model = IALS(n_users, n_items, dim=192); model.fit(train_matrix)
    >>> model.score_all(torch.tensor([0, 1]))                               # (2, n_items)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ncf.models.base import ClosedForm, DotProductModel, Table, binary_rows, torch_csr

SOLVERS = ("cg", "exact")


class IALS(ClosedForm, DotProductModel):
    """Args:
    n_users, n_items: index ranges.
    dim: vector size (192, Rendle et al.'s ML-1M setting).
    iterations: alternating sweeps (one user solve + one item solve each).
    l2: the regularisation weight lambda.
    unobserved: the weight of every (user, item) pair's squared score (alpha_0).
    exponent: the frequency scaling nu of each row's L2 weight (0: plain L2).
    solver: ``cg`` or ``exact``.
    cg_steps: conjugate-gradient steps per solve.
    init_std: the vectors start N(0, init_std^2 / dim).
    """

    name = "ials"
    search_space = {
        "dim": [32, 64, 128, 192, 256],
        "l2": (1e-4, 1.0, "log"),
        "unobserved": (0.01, 1.0, "log"),
    }
    summary = "implicit ALS, conjugate-gradient or exact solves (Hu et al. 2008; Rendle et al.)"

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 192,
        iterations: int = 12,
        l2: float = 0.007,
        unobserved: float = 0.3,
        exponent: float = 1.0,
        solver: str = "cg",
        cg_steps: int = 3,
        init_std: float = 0.1,
    ):
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
        for key, value in (("iterations", iterations), ("cg_steps", cg_steps)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key} must be a positive whole number, got {value!r}")
        if l2 < 0 or unobserved < 0:
            raise ValueError(f"l2 and unobserved must be >= 0, got {l2} and {unobserved}")
        super().__init__(
            n_users,
            n_items,
            dim=dim,
            iterations=iterations,
            l2=l2,
            unobserved=unobserved,
            exponent=exponent,
            solver=solver,
            cg_steps=cg_steps,
            init_std=init_std,
        )
        self.user_emb = Table(n_users, dim)
        self.item_emb = Table(n_items, dim)
        self.requires_grad_(False)  # solved, never trained by gradients

    @torch.no_grad()
    def fit(self, train: sp.csr_matrix) -> None:
        device = self.user_emb.weight.device
        generator = torch.Generator().manual_seed(0)
        std = self.hparams["init_std"] / self.hparams["dim"] ** 0.5
        for table in (self.user_emb, self.item_emb):
            start = torch.randn(table.weight.shape, generator=generator) * std
            table.weight.copy_(start.to(device))
        binary = binary_rows(train)
        by_user = torch_csr(binary).to(device)
        by_item = torch_csr(binary.T.tocsr()).to(device)
        users, items = self.user_emb.weight, self.item_emb.weight
        for _ in range(self.hparams["iterations"]):
            users.copy_(self.solve(by_user, items, users))
            items.copy_(self.solve(by_item, users, items))

    def solve(self, matrix: torch.Tensor, fixed: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        """`least_squares` with the model's settings."""
        h = self.hparams
        return least_squares(
            matrix,
            fixed,
            start,
            h["unobserved"],
            h["l2"],
            h["exponent"],
            h["solver"],
            h["cg_steps"],
        )

    def fold_in_weights(self) -> tuple[float, float, float]:
        return self.hparams["unobserved"], self.hparams["l2"], self.hparams["exponent"]


def least_squares(
    matrix: torch.Tensor,
    fixed: torch.Tensor,
    start: torch.Tensor | None,
    unobserved: float,
    l2: float,
    exponent: float,
    solver: str = "exact",
    cg_steps: int = 3,
) -> torch.Tensor:
    """The vectors of the rows of ``matrix`` (sparse CSR, rows x cols, binary) that
    minimise the iALS objective with the columns' vectors ``fixed`` (cols, d) held fixed:
    each row u solves (unobserved F^T F + F_u^T F_u + lambda_u I) x_u = F_u^T 1 with
    lambda_u = l2 (|u| + unobserved cols)^exponent.

    Args:
        start: (rows, d) the current vectors, where conjugate gradient starts (``cg``
            only).
        solver: ``cg`` (``cg_steps`` steps) or ``exact``.

    Returns:
        (rows, d) the vectors."""
    counts = (matrix.crow_indices()[1:] - matrix.crow_indices()[:-1]).to(fixed.dtype)
    reg = l2 * (counts + unobserved * fixed.shape[0]) ** exponent
    gram = unobserved * (fixed.T @ fixed)  # (d, d)
    target = matrix @ fixed  # (rows, d): F_u^T 1
    if solver == "exact" or start is None:
        return _exact(matrix, fixed, gram, reg, target)
    return _conjugate_gradient(matrix, fixed, gram, reg, target, start, cg_steps)


def _observed_product(matrix: torch.Tensor, fixed: torch.Tensor, vectors: torch.Tensor):
    """(rows, d): for every row u, sum over its columns i of (v_u . h_i) h_i."""
    at_nonzeros = torch.sparse.sampled_addmm(matrix, vectors, fixed.T, beta=0.0)
    return at_nonzeros @ fixed


def _conjugate_gradient(
    matrix: torch.Tensor,
    fixed: torch.Tensor,
    gram: torch.Tensor,
    reg: torch.Tensor,
    target: torch.Tensor,
    start: torch.Tensor,
    steps: int,
) -> torch.Tensor:
    """``steps`` of conjugate gradient on every row's system at once, from ``start``."""

    def apply(vectors: torch.Tensor) -> torch.Tensor:  # A v for every row
        return vectors @ gram + reg[:, None] * vectors + _observed_product(matrix, fixed, vectors)

    x = start.clone()
    residual = target - apply(x)
    direction = residual.clone()
    norm = (residual * residual).sum(1)
    for _ in range(steps):
        product = apply(direction)
        curvature = (direction * product).sum(1)
        alpha = torch.where(curvature > 0, norm / curvature.clamp(min=1e-30), 0.0)
        x += alpha[:, None] * direction
        residual -= alpha[:, None] * product
        new_norm = (residual * residual).sum(1)
        beta = torch.where(norm > 0, new_norm / norm.clamp(min=1e-30), 0.0)
        direction = residual + beta[:, None] * direction
        norm = new_norm
    return x


def _exact(
    matrix: torch.Tensor,
    fixed: torch.Tensor,
    gram: torch.Tensor,
    reg: torch.Tensor,
    target: torch.Tensor,
    budget: int = 1 << 24,
) -> torch.Tensor:
    """Every row's system formed and solved exactly, in blocks of rows whose padded
    items (block, longest, d) and systems (block, d, d) stay within ``budget`` values."""
    crow = matrix.crow_indices().cpu().numpy()
    cols = matrix.col_indices()
    counts = np.diff(crow)
    order = np.argsort(counts, kind="stable")  # similar lengths pad little
    d = fixed.shape[1]
    out = torch.empty_like(target)
    eye = torch.eye(d, dtype=fixed.dtype, device=fixed.device)
    start = 0
    while start < len(order):
        # lengths grow along ``order``: the block's last row is its longest
        widths = np.maximum(counts[order[start:]], 1)
        sizes = (widths * d + d * d) * np.arange(1, len(order) - start + 1)
        stop = start + max(1, int(np.searchsorted(sizes, budget, side="right")))
        rows = order[start:stop]
        width = max(int(counts[rows].max()), 1)
        offsets = np.arange(width)[None, :]
        valid = offsets < counts[rows][:, None]
        positions = np.where(valid, crow[rows][:, None] + offsets, 0)
        index = cols[torch.from_numpy(positions).to(cols.device)]
        mask = torch.from_numpy(valid).to(fixed.device)
        padded = fixed[index] * mask[..., None]  # (b, width, d)
        rows_t = torch.from_numpy(rows).to(fixed.device)
        systems = padded.transpose(1, 2) @ padded + gram + reg[rows_t, None, None] * eye
        out[rows_t] = torch.linalg.solve(systems, target[rows_t])  # (b, d)
        start = stop
    return out
