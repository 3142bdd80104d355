"""Item-kNN: items scored by their nearest neighbours among a user's items (Sarwar et al.
2001; Deshpande & Karypis 2004), with the similarities of Aiolli's asymmetric cosine
(RecSys 2013) and the shrinkage of Dacrema et al.'s baselines.

With X the binary user-item matrix, c_ij = |U_i & U_j| the co-occurrence of items i and
j and n_i = |U_i|, the similarity of a candidate item j to an item i is

    cosine:             s_ij = c_ij / (sqrt(n_i) sqrt(n_j) + shrink)
    asymmetric cosine:  s_ij = c_ij / (n_j^alpha n_i^(1 - alpha) + shrink)

Each item keeps its ``neighbours`` most similar items (itself excluded); a user scores
item j by the sum of s_ij over the items i they have that are among j's neighbours, each
item i's similarities first divided by their sum over the candidates it is a neighbour
of, to the power ``normalise``.
``fit`` computes the co-occurrences a block of items at a time (a sparse product), so
memory stays at the neighbour lists plus one (n_items, block) slab; the item-item matrix
is never held whole.

    >>> model = ItemKNN(n_users, n_items, neighbours=100); model.fit(train_matrix)
    >>> model.score_all(torch.tensor([0, 1]))                              # (2, n_items)
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch

from ncf.models.base import ClosedForm, EvalCache, RowModel, torch_csr

SIMILARITIES = ("cosine", "asymmetric")
WEIGHTINGS = ("none", "tfidf", "bm25")


def weighted(binary: sp.csr_matrix, weighting: str, k1: float = 1.2, b: float = 0.75):
    """The (users, items) matrix with each entry weighted by its user, as term weights
    over documents (an item's users are its terms): ``tfidf`` scales by the user's inverse
    frequency log(I / (1 + n_u)); ``bm25`` by BM25's saturation and item-length
    normalisation times the same idf (k1, b: BM25's constants)."""
    out = binary.astype(np.float32).tocsr(copy=True)
    if weighting == "none":
        return out
    n_items = out.shape[1]
    per_user = np.diff(out.indptr)
    idf = np.log(n_items / (1.0 + per_user)).astype(np.float32)
    rows = np.repeat(np.arange(out.shape[0]), per_user)
    if weighting == "tfidf":
        out.data = np.sqrt(out.data) * idf[rows]
        return out
    per_item = np.bincount(out.indices, minlength=n_items).astype(np.float32)
    length = (1 - b) + b * per_item / max(float(per_item.mean()), 1e-12)
    out.data = out.data * (k1 + 1) / (k1 * length[out.indices] + out.data) * idf[rows]
    return out


class ItemKNN(ClosedForm, RowModel):
    """Args:
    n_users, n_items: index ranges.
    neighbours: neighbours kept per item (k).
    similarity: ``cosine`` or ``asymmetric`` (asymmetric cosine).
    shrink: added to the similarity's denominator (damps pairs seen by few users).
    alpha: the asymmetric cosine's exponent (0.5 is the cosine).
    weighting: ``none``, ``tfidf`` or ``bm25``: users' weights in the items' vectors
        before the similarity (`weighted`); with a weighting, c_ij and n_i are the dot
        product and squared norm of the weighted vectors.
    normalise: each item's similarities to the candidates it is a neighbour of are
        divided by their sum to this power (1: they sum to one, as Deshpande & Karypis;
        0: as computed), so that an item near many others does not dominate.
    """

    name = "item-knn"
    search_space = {"neighbours": (10, 1000, "log"), "shrink": (0.0, 100.0), "alpha": (0.0, 1.0)}
    summary = "item-item nearest neighbours, cosine or asymmetric cosine with shrinkage"
    #: values of the largest (n_items, block) slab ``fit`` builds
    block_budget = 1 << 25

    def __init__(
        self,
        n_users: int,
        n_items: int,
        neighbours: int = 100,
        similarity: str = "cosine",
        shrink: float = 10.0,
        alpha: float = 0.5,
        weighting: str = "tfidf",
        normalise: float = 0.5,
    ):
        if similarity not in SIMILARITIES:
            raise ValueError(
                f"similarity must be one of {', '.join(SIMILARITIES)}, got {similarity!r}"
            )
        if isinstance(neighbours, bool) or not isinstance(neighbours, int) or neighbours < 1:
            raise ValueError(f"neighbours must be a positive whole number, got {neighbours!r}")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")
        if shrink < 0 or not 0 <= alpha <= 1:
            raise ValueError(f"shrink must be >= 0 and alpha in [0, 1], got {shrink}, {alpha}")
        super().__init__(
            n_users,
            n_items,
            neighbours=neighbours,
            similarity=similarity,
            shrink=shrink,
            alpha=alpha,
            weighting=weighting,
            normalise=normalise,
        )
        k = min(neighbours, max(n_items - 1, 1))
        # row j: the candidate item j's neighbours i and their similarities s_ij
        self.register_buffer("neighbour_index", torch.zeros(n_items, k, dtype=torch.long))
        self.register_buffer("neighbour_weight", torch.zeros(n_items, k))
        self._weights = EvalCache()  # the neighbour lists as a sparse matrix

    @torch.no_grad()
    def fit(self, train: sp.csr_matrix) -> None:
        self.set_history(train)
        assert self.history is not None
        matrix = weighted(self.history, self.hparams["weighting"])
        counts = torch.from_numpy(np.asarray(matrix.multiply(matrix).sum(0)).ravel())
        by_item = torch_csr(matrix.T.tocsr())  # (I, U)
        by_column = matrix.tocsc()
        n_items, k = self.n_items, self.neighbour_index.shape[1]
        block = max(1, self.block_budget // max(n_items, 1))
        alpha, shrink = self.hparams["alpha"], self.hparams["shrink"]
        if self.hparams["similarity"] == "cosine":
            alpha = 0.5
        for start in range(0, n_items, block):
            stop = min(start + block, n_items)
            columns = torch.from_numpy(by_column[:, start:stop].toarray())  # (U, b)
            together = by_item @ columns  # (I, b): c_ij, i = neighbour, j = candidate
            denominator = counts[start:stop] ** alpha * counts[:, None] ** (1 - alpha) + shrink
            similar = together / denominator.clamp(min=1e-12)
            similar[torch.arange(start, stop), torch.arange(stop - start)] = 0.0  # not itself
            weight, index = similar.topk(k, dim=0)  # (k, b)
            self.neighbour_index[start:stop] = index.T
            self.neighbour_weight[start:stop] = weight.T
        if self.hparams["normalise"]:
            # each item's similarities to the candidates it is a neighbour of, summed
            spread = torch.zeros(n_items).index_add_(
                0, self.neighbour_index.reshape(-1), self.neighbour_weight.reshape(-1)
            )
            scale = spread.clamp(min=1e-12) ** self.hparams["normalise"]
            self.neighbour_weight /= scale[self.neighbour_index]

    def weights(self) -> torch.Tensor:
        """The (n_items, n_items) sparse similarities, row j = candidate j's neighbours."""
        return self._weights.get(self, self._sparse_weights)

    def _sparse_weights(self) -> torch.Tensor:
        n_items, k = self.neighbour_index.shape
        columns, order = self.neighbour_index.sort(dim=1)  # CSR wants them in order
        values = self.neighbour_weight.gather(1, order)
        crow = torch.arange(0, n_items * k + 1, k, device=columns.device)
        with warnings.catch_warnings():  # torch's "beta" notice: what ncf uses works
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(
                crow,
                columns.reshape(-1),
                values.reshape(-1),
                size=(n_items, n_items),
                check_invariants=False,  # rows of k sorted columns: well-formed
            )

    def score_rows(self, rows: torch.Tensor) -> torch.Tensor:
        return (self.weights() @ rows.T).T.contiguous()

    def item_similarities(self, item: int) -> torch.Tensor:
        """(n_items,) the similarity of every item to ``item``: its neighbour weights,
        0 outside its neighbours."""
        out = torch.zeros(self.n_items, device=self.neighbour_weight.device)
        out[self.neighbour_index[item]] = self.neighbour_weight[item]
        return out
