"""Graph convolution over the user-item graph: NGCF (Wang et al., SIGIR 2019) and LightGCN
(He et al., SIGIR 2020).

Both embed users and items, propagate the embeddings over the bipartite graph's
symmetric normalised adjacency L = D^-1/2 A D^-1/2 (A = [[0, R], [R^T, 0]], R the binary
user-item matrix of the interactions the model observes), and score a pair by the dot
product of the final embeddings. They train with the ``user-bpr`` regime
(`ncf.training.regimes.UserDraws`): users drawn uniformly, one training positive and one
unseen negative each, BPR, and L2 on the batch's embeddings with ``reg`` x
sum of squares / 2 / batch.

- `LightGCN`: E_{k+1} = L E_k, no transform, no non-linearity; final = mean of E_0..E_K;
  the L2 term sees the batch's *initial* embeddings (E_0 rows), as the authors' code.
- `NGCF`: E_{k+1} = LeakyReLU_0.2((L E_k + E_k) W1 + b1 + (L E_k * E_k) W2 + b2), message
  dropout after each layer, optional node dropout; final = concatenation of E_0 and the
  L2-normalised E_1..E_K; the L2 term sees the batch's *final* embeddings.

The graph is built (vectorised, as a torch sparse CSR matrix, its nodes in reverse
Cuthill-McKee order for locality: `local_adjacency`) from the interactions given
to ``observe``: the training part while training and validating, training + validation
before the test (as the other models that score from interactions; the validation edges
are known by then), and the bundle's interactions when serving. Propagation runs once per
batch for users and items together; in evaluation it runs once and is reused until the
weights change. The backward pass of a propagation step is one more product with L (L is
symmetric), not the transposed sparse product autograd would build. A training batch
works on the embeddings in the graph's order: one gather of its users', positives' and
negatives' rows; when those nodes are under half the graph, the last layer is computed
for them alone (its product reads their rows of L; NGCF's dense work shrinks with it);
LightGCN's L2 comes from each node's count in the batch when the batch has more draws
than the graph has nodes (no gather at all).

Where ``ncf`` differs from the authors' code (LightGCN-PyTorch, NGCF / NGCF-PyTorch):

- Users are drawn with replacement for both models, one positive and one negative each,
  as many draws per epoch as training interactions (LightGCN's sampler). NGCF's code draws
  a batch of distinct users and runs n_train // batch + 1 batches: the same number of
  updates and the same distribution per step, up to repeats within a batch.
- NGCF's sum message uses (L + I) E with L symmetric, as the paper and the NGCF notebook
  write it; NGCF-PyTorch's default adjacency is the left-normalised D^-1 (A + I), and its
  bi-message multiplies E by (L + I) E rather than L E.
- NGCF's node dropout drops nodes (each node's outgoing messages, rescaled by 1 / keep),
  as the paper describes; the code drops single edges of the normalised matrix.
- NGCF's default layers are [64, 64, 64], the paper's depth for its published table; the
  S10 notebook uses [64, 64] (``examples/S10-ngcf.toml``).
- Schedules: every batch propagates the whole graph forward and back, so an epoch costs
  one propagation per batch. LightGCN trains in batches of 65,536 draws at Adam lr 0.03
  decayed by a cosine over 600 epochs, evaluated every 10 (the authors: 2,048 at 1e-3
  for up to 1,000 epochs, 32 times the propagations per epoch); NGCF in batches of 4,096
  at 1e-3 (the authors: 1,024 at 1e-4; the S10 notebook 512). Both were chosen on
  validation (Gowalla's ``with-valid`` part for LightGCN, ML-100K for NGCF);
  ``--set batch_size=2048 lr=0.001 schedule=none epochs=1000 eval_every=5 patience=5``
  is LightGCN's paper schedule (``benchmarks/graph_schedules.py`` compares them).
- Selection: early stopping on validation Recall@20 (NGCF: evaluated every 5 epochs,
  patience 5; LightGCN: every 10, patience 10); the authors evaluate on the test file
  during training and report the best epoch.
  Their Gowalla / Yelp2018 / Amazon-Book files have no validation part, so ``ncf``
  validates on each user's last training line item (the ``given`` split), the same size
  as leave-one-out.

    >>> model = LightGCN(n_users=943, n_items=1682); model.observe(train)
    >>> model.score_all(torch.tensor([0, 1])).shape                       # (2, 1682)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from scipy.sparse.csgraph import reverse_cuthill_mckee
from torch import nn

from ncf.data.interactions import Interactions
from ncf.models.base import EvalCache, Model, Table, inverse_power, torch_csr

# the authors' models and L2 (LightGCN: 1e-4 on initial embeddings; NGCF: 1e-5 on final
# embeddings), in large batches at a larger rate (the module's docstring); selection on
# validation recall@20, evaluated every 5 epochs, patience 5 evaluations
_GRAPH_DEFAULTS: dict[str, Any] = {
    "optimizer": "adam",
    "schedule": "none",
    "weight_decay": 0.0,
    "n_negatives": 1,
    "eval_every": 5,
    "patience": 5,
    "monitor": "recall@20",
    "ks": [20],
}


def normalised_adjacency(known: Interactions, device: torch.device | str = "cpu") -> torch.Tensor:
    """D^-1/2 A D^-1/2 of the bipartite graph of ``known`` (repeated pairs count once):
    an (n_users + n_items) square sparse CSR float32 tensor, users first. A node without
    edges has degree 0 and an empty row."""
    return torch_csr(_adjacency(known)).to(device)


def local_adjacency(
    known: Interactions, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """`normalised_adjacency` with its nodes in reverse Cuthill-McKee order, and that
    order ((N,) node at each position): neighbours sit close in memory, so a product
    with the embeddings reads them from cache more often (1.5 times sooner on Gowalla's
    graph, one thread)."""
    matrix = _adjacency(known)
    order = reverse_cuthill_mckee(matrix, symmetric_mode=True).astype(np.int64)
    ordered = matrix[order][:, order].tocsr()
    ordered.sort_indices()
    return torch_csr(ordered).to(device), torch.from_numpy(order).to(device)


def _adjacency(known: Interactions) -> sp.csr_matrix:
    n_users, n_items = known.n_users, known.n_items
    keys = np.unique(known.user_ids.astype(np.int64) * n_items + known.item_ids)
    users, items = keys // n_items, keys % n_items
    degree = np.concatenate(
        [np.bincount(users, minlength=n_users), np.bincount(items, minlength=n_items)]
    ).astype(np.float64)
    scale = inverse_power(degree, 0.5)
    rows = np.concatenate([users, items + n_users])
    cols = np.concatenate([items + n_users, users])
    n = n_users + n_items
    matrix = sp.csr_matrix(
        ((scale[rows] * scale[cols]).astype(np.float32), (rows, cols)), shape=(n, n)
    )
    matrix.sort_indices()
    return matrix


class _Propagate(torch.autograd.Function):
    """L @ E for a symmetric sparse L; the gradient is L @ grad (L^T = L)."""

    @staticmethod
    def forward(ctx: Any, matrix: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        ctx.matrix = matrix
        return matrix @ embeddings

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, ctx.matrix @ grad


def propagate(matrix: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
    """(N, N) symmetric sparse ``matrix`` times (N, d) ``embeddings``."""
    return _Propagate.apply(matrix, embeddings)


def csr_rows(matrix: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """The ``rows`` of a sparse CSR ``matrix`` (torch has no index_select for CSR)."""
    crow, columns, values = matrix.crow_indices(), matrix.col_indices(), matrix.values()
    starts, lengths = crow[rows], crow[rows + 1] - crow[rows]
    pointers = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)])
    total = int(pointers[-1])
    within = torch.arange(total, device=rows.device) - pointers[:-1].repeat_interleave(
        lengths, output_size=total
    )
    at = starts.repeat_interleave(lengths, output_size=total) + within
    return torch.sparse_csr_tensor(  # well-formed: rows of a well-formed matrix
        pointers, columns[at], values[at], size=(len(rows), matrix.shape[1]), check_invariants=False
    )


class _PropagateRows(torch.autograd.Function):
    """(L @ E)[rows] for a symmetric sparse L and distinct ``rows``: the forward product
    reads those rows of L alone; the gradient is L @ (grad placed at ``rows``)."""

    @staticmethod
    def forward(
        ctx: Any, matrix: torch.Tensor, rows: torch.Tensor, embeddings: torch.Tensor
    ) -> torch.Tensor:
        ctx.matrix, ctx.rows = matrix, rows
        return csr_rows(matrix, rows) @ embeddings

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, None, torch.Tensor]:
        placed = grad.new_zeros(ctx.matrix.shape[0], grad.shape[1]).index_copy_(0, ctx.rows, grad)
        return None, None, ctx.matrix @ placed


class _Permute(torch.autograd.Function):
    """The rows of x in ``order``; the gradient goes back by the inverse permutation
    ``position`` (a gather, where index_select's own backward would scatter-add)."""

    @staticmethod
    def forward(
        ctx: Any, rows: torch.Tensor, order: torch.Tensor, position: torch.Tensor
    ) -> torch.Tensor:
        ctx.position = position
        return rows.index_select(0, order)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        return grad.index_select(0, ctx.position), None, None


class GraphModel(Model):
    """Shared machinery: the embedding tables, the graph of the observed interactions,
    the propagated embeddings (cached in evaluation), and scoring by dot products.

    Subclasses implement ``_final(embeddings, rows) -> (N, d')`` and ``_regularised``."""

    objective = "user-bpr"
    user_emb: nn.Embedding
    item_emb: nn.Embedding

    def __init__(self, n_users: int, n_items: int, **hparams: Any):
        super().__init__(n_users, n_items, **hparams)
        self.graph: torch.Tensor | None = None  # nodes in `self.order`
        self.order: torch.Tensor | None = None
        self.position: torch.Tensor | None = None  # each node's place in the order
        self._graph_of: Interactions | None = None
        self._propagation = EvalCache()

    def observe(self, known: Interactions) -> None:
        """Builds the graph of ``known``; the training part, which the trainer and the
        validation evaluator both pass, is built once."""
        if known is not self._graph_of:
            self.graph, self.order = local_adjacency(known, self.device)
            self.position = torch.empty_like(self.order)
            self.position[self.order] = torch.arange(len(self.order), device=self.order.device)
            self._graph_of = known
            self.clear_caches()

    def _graph(self) -> torch.Tensor:
        if self.graph is None or self.order is None or self.position is None:
            raise RuntimeError(f"{self.name} needs the interaction graph: call observe(train)")
        if self.graph.device != self.device:
            self.graph, self.order, self.position = (
                t.to(self.device) for t in (self.graph, self.order, self.position)
            )
        return self.graph

    def _final(self, embeddings: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """(N, d') final embeddings from (N, d) initial ones, or with distinct ``rows``
        those nodes' alone (the earlier layers are needed everywhere for their messages,
        the last only at the rows)."""
        raise NotImplementedError

    def propagated(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(n_users, d') and (n_items, d') final embeddings: with gradients every call in
        training; in evaluation computed once and reused while the weights and the graph
        are unchanged (`EvalCache`; a fused optimiser step does not bump the versions, but
        runs in training mode only)."""

        def compute() -> tuple[torch.Tensor, torch.Tensor]:
            final = self._final(self._start())
            assert self.position is not None
            restored = final.index_select(0, self.position)  # back in the tables' order
            users, items = restored.split([self.n_users, self.n_items])
            return users, items

        return self._propagation.get(self, compute)

    def _start(self) -> torch.Tensor:
        """The (N, d) initial embeddings of every node, users first, in the graph's order."""
        self._graph()  # on the model's device
        start = torch.cat([self.user_emb.weight, self.item_emb.weight])
        return _Permute.apply(start, self.order, self.position)

    def _final_rows(self, start: torch.Tensor, at: torch.Tensor) -> torch.Tensor:
        """The final embeddings of the nodes at places ``at`` of the graph's order: the
        last layer computed for those nodes alone when they are under half the graph."""
        if len(at) < len(start):  # (more draws than nodes cover most of them: not counted)
            needed, back = torch.unique(at, return_inverse=True)
            if 2 * len(needed) <= len(start):
                return self._final(start, needed).index_select(0, back)
        return self._final(start).index_select(0, at)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        all_users, all_items = self.propagated()
        return (all_users[users] * all_items[items]).sum(1)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        all_users, all_items = self.propagated()
        return all_users[users] @ all_items.T  # (B, n_items)

    def pair_scores(
        self,
        users: torch.Tensor,
        positives: torch.Tensor,
        negatives: torch.Tensor,
        regularise: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """One propagation for the whole batch: (B,) positive and (B, K) negative scores,
        and the tensors the batch's L2 sees (`_regularised`)."""
        start = self._start()
        assert self.position is not None
        nodes = torch.cat([users, positives + self.n_users, negatives.reshape(-1) + self.n_users])
        at = self.position.index_select(0, nodes)
        # one gather of the batch's rows (one scatter back), and product-sums: their
        # backward passes are 1.4 and 3.6 times faster than advanced indexing's and
        # einsum's on a CPU
        rows = self._final_rows(start, at)
        u, positive_rows, drawn = rows.split([len(users), len(positives), negatives.numel()])
        positive = (u * positive_rows).sum(1)
        negative = (u.unsqueeze(1) * drawn.view(*negatives.shape, -1)).sum(-1)
        touched = self._regularised(start, at, rows) if regularise else []
        return positive, negative, touched

    def _regularised(
        self, start: torch.Tensor, at: torch.Tensor, rows: torch.Tensor
    ) -> list[torch.Tensor]:
        """What the batch's L2 sees, given the initial embeddings ``start``, the batch's
        nodes' places ``at`` (users, positives, negatives) and their final ``rows``."""
        raise NotImplementedError

    def item_embeddings(self) -> torch.Tensor:
        return self.propagated()[1]

    def item_factors(self) -> tuple[torch.Tensor, None]:
        return self.propagated()[1], None

    def user_factors(self, users: torch.Tensor) -> torch.Tensor:
        return self.propagated()[0][users]

    def serving_state(self) -> dict[str, torch.Tensor]:
        if self.graph is None:  # never observed: nothing propagated to keep
            return {}
        training = self.training
        self.eval()  # no message dropout
        with torch.no_grad():
            users, items = self.propagated()
        self.train(training)
        return {"propagated_users": users, "propagated_items": items}

    def load_serving_state(self, state: dict[str, torch.Tensor]) -> None:
        """The embeddings propagated over the graph the model was last evaluated with,
        kept until it observes other interactions or its weights change."""
        if "propagated_users" in state:
            value = (state["propagated_users"], state["propagated_items"])
            self._propagation.prime(self, tuple(t.to(self.device) for t in value))


class LightGCN(GraphModel):
    """Args:
    n_users, n_items: index ranges.
    dim: embedding size (64).
    n_layers: propagation steps K (3); the final embedding is the mean of E_0..E_K.
    init_std: std of the N(0, std) initial embeddings (0.1, as the authors' code).
    """

    name = "lightgcn"
    search_space = {"n_layers": (1, 4), "weight_decay": (1e-6, 1e-2, "log")}
    summary = "mean of embeddings propagated over the normalised graph (He et al. 2020)"
    train_defaults = {
        **_GRAPH_DEFAULTS,
        "epochs": 600,
        "lr": 0.03,
        "batch_size": 65536,
        "schedule": "cosine",
        "reg": 1e-4,
        "eval_every": 10,
        "patience": 10,
    }

    def __init__(
        self, n_users: int, n_items: int, dim: int = 64, n_layers: int = 3, init_std: float = 0.1
    ):
        if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 0:
            raise ValueError(f"n_layers must be a whole number of steps >= 0, got {n_layers!r}")
        super().__init__(n_users, n_items, dim=dim, n_layers=n_layers, init_std=init_std)
        self.user_emb = Table(n_users, dim)
        self.item_emb = Table(n_items, dim)
        for table in (self.user_emb, self.item_emb):
            nn.init.normal_(table.weight, std=init_std)

    def _final(self, embeddings: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        graph, total, layer = self._graph(), embeddings, embeddings
        n_layers = self.hparams["n_layers"]
        for depth in range(n_layers):
            if rows is not None and depth == n_layers - 1:
                layer = _PropagateRows.apply(graph, rows, layer)
                total = total.index_select(0, rows)
            else:
                layer = propagate(graph, layer)
            total = total + layer
        if rows is not None and n_layers == 0:
            total = total.index_select(0, rows)
        return total / (n_layers + 1)

    def _regularised(self, start, at, rows):  # type: ignore[no-untyped-def]
        """The batch's initial embeddings; in a batch with more draws than nodes, each
        node's row times the square root of its count in the batch: the same sum of
        squares and gradient, without gathering (and scattering back) 3 B rows."""
        if len(at) < len(start):
            return [start.index_select(0, at)]
        counts = torch.bincount(at, minlength=len(start)).to(start.dtype)
        return [start * counts.sqrt().unsqueeze(1)]


class NGCF(GraphModel):
    """Args:
    n_users, n_items: index ranges.
    dim: embedding size (64).
    layers: output size of each propagation layer ([64, 64, 64]).
    message_dropout: dropout on each layer's output while training (0.1).
    node_dropout: share of nodes whose outgoing messages are dropped per batch (0: off).
    """

    name = "ngcf"
    search_space = {"message_dropout": (0.0, 0.5), "weight_decay": (1e-6, 1e-2, "log")}
    summary = "graph convolution with sum and bi-interaction messages (Wang et al. 2019)"
    train_defaults = {
        **_GRAPH_DEFAULTS,
        "epochs": 400,
        "lr": 1e-3,
        "batch_size": 4096,
        "reg": 1e-5,
    }

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 64,
        layers: tuple[int, ...] = (64, 64, 64),
        message_dropout: float = 0.1,
        node_dropout: float = 0.0,
    ):
        sizes = [layers] if isinstance(layers, int) else list(layers)
        for rate, name in ((message_dropout, "message_dropout"), (node_dropout, "node_dropout")):
            if not 0 <= rate < 1:
                raise ValueError(f"{name} must be in [0, 1), got {rate}")
        super().__init__(
            n_users,
            n_items,
            dim=dim,
            layers=sizes,
            message_dropout=message_dropout,
            node_dropout=node_dropout,
        )
        self.user_emb = Table(n_users, dim)
        self.item_emb = Table(n_items, dim)
        for table in (self.user_emb, self.item_emb):
            nn.init.xavier_uniform_(table.weight)
        widths = [dim, *sizes]
        self.sum_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.bi_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        for linear in (*self.sum_layers, *self.bi_layers):
            nn.init.xavier_uniform_(linear.weight)
            nn.init.xavier_uniform_(linear.bias.view(1, -1))

    def _final(self, embeddings: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        graph, layer, outputs = self._graph(), embeddings, [embeddings]
        keep = 1.0 - self.hparams["node_dropout"]
        last = len(self.sum_layers) - 1
        for depth, (sum_layer, bi_layer) in enumerate(zip(self.sum_layers, self.bi_layers)):
            sent = layer
            if self.training and keep < 1:  # a dropped node sends no messages this batch
                kept = torch.rand(len(layer), 1, device=layer.device) < keep
                sent = layer * kept / keep
            if rows is not None and depth == last:
                side = _PropagateRows.apply(graph, rows, sent)  # (L E)[rows]
                layer = layer.index_select(0, rows)
                outputs = [output.index_select(0, rows) for output in outputs]
            else:
                side = propagate(graph, sent)  # L E
            layer = F.leaky_relu(sum_layer(side + layer) + bi_layer(side * layer), 0.2)
            layer = F.dropout(layer, self.hparams["message_dropout"], self.training)
            outputs.append(F.normalize(layer, dim=1))
        final = torch.cat(outputs, dim=1)
        return final.index_select(0, rows) if rows is not None and last < 0 else final

    def _regularised(self, start, at, rows):  # type: ignore[no-untyped-def]
        return [rows]  # the batch's final embeddings
