"""The small contract every `ncf` model follows.

A model is an ``nn.Module`` built from plain numbers (``n_users``, ``n_items``, sizes);
never from a config or a dataset object. It provides:

- ``forward(users, items) -> (B,)`` scores (logits for pointwise models);
- ``score_all(users) -> (B, n_items)`` scores of every item, in a new tensor the caller
  may overwrite (the evaluators set excluded items to -inf in place);
- ``summary``: one line saying what the model is;
- ``objective``: the training regime it trains with by default (`ncf.training.regimes`:
  ``"pointwise"``, ``"pairwise"``, ``"rating"`` ...); models fitted in closed form or by
  counting are `ClosedForm` instead and learn in one ``fit(train)``. Every model is fitted
  through one entry point, `ncf.training.fit_model`;
- ``observe(known)``: keep the interactions a model scores from (optional);
- ``item_factors()`` / ``score_rows(rows)`` / ``score_histories(histories)``: how a user
  the model was not trained on is scored from their items (`ncf.inference.fold_in`; optional);
- ``init_from_ratings(ratings)``: initial values from the training ratings, for models
  trained on them (optional);
- ``train_defaults``: the training settings found best for it on validation data;
- ``hparams``: the constructor arguments, saved in bundles and checkpoints.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ncf.data.interactions import Interactions


class Model(nn.Module):
    """Base class: stores hyper-parameters and implements the shared helpers."""

    name: ClassVar[str] = ""
    #: one line for ``ncf models``
    summary: ClassVar[str] = ""
    objective: ClassVar[str] = "pointwise"
    personalised: ClassVar[bool] = True
    #: scores users by the order of their items (the sequence models)
    needs_order: ClassVar[bool] = False
    #: trains with its own ``objective`` only (another would not use what it learns from)
    own_objective_only: ClassVar[bool] = False
    train_defaults: ClassVar[dict[str, Any]] = {}
    #: the roles of the trained runs this model may start from (the run setting
    #: ``start_from``; NeuMF: ``gmf``, ``mlp``; the hybrid: ``base``), read by
    #: `shapes_from_runs` / `start_from`
    starts_from: ClassVar[tuple[str, ...]] = ()
    #: training settings for a model started from runs (over ``train_defaults``)
    pretrained_defaults: ClassVar[dict[str, Any]] = {}
    #: what ``ncf tune`` searches (its regime adds the training settings): setting ->
    #: a list of choices, ``(low, high)`` (ints or floats) or ``(low, high, "log")``
    search_space: ClassVar[dict[str, Any]] = {}
    #: elements of the largest intermediate tensor ``score_all`` may build at once
    score_budget: ClassVar[int] = 1 << 25

    def __init__(self, n_users: int, n_items: int, **hparams: Any):
        super().__init__()
        self.n_users = n_users
        self.n_items = n_items
        self.hparams: dict[str, Any] = {"n_users": n_users, "n_items": n_items, **hparams}

    @property
    def device(self) -> torch.device:
        for tensor in (*self.parameters(), *self.buffers()):
            return tensor.device
        return torch.device("cpu")

    def train(self, mode: bool = True) -> Model:
        if mode:  # a fused optimiser's steps do not bump the versions an EvalCache checks
            self.clear_caches()
        return super().train(mode)

    def clear_caches(self) -> None:
        """Drops the values the model keeps in evaluation (`EvalCache`)."""
        for value in vars(self).values():
            if isinstance(value, EvalCache):
                value.clear()

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """(B,) users -> (B, n_items) scores; default: ``forward`` over every pair, chunked."""
        items = torch.arange(self.n_items, device=users.device)
        chunk = max(1, self.score_budget // max(self.n_items, 1))
        out = []
        for start in range(0, len(users), chunk):
            block = users[start : start + chunk]
            pairs_u = block.repeat_interleave(self.n_items)
            pairs_i = items.repeat(len(block))
            out.append(self(pairs_u, pairs_i).view(len(block), self.n_items))
        return torch.cat(out) if out else torch.empty(0, self.n_items, device=users.device)

    def item_embeddings(self) -> torch.Tensor | None:
        """(n_items, d) vectors whose cosine says how alike two items are, or None."""
        return None

    def embedding_tables(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The (n_users, d) and (n_items, d) embedding tables (``user_emb``, ``item_emb``)
        of models that have them, which a hybrid starts from; None otherwise."""
        user, item = getattr(self, "user_emb", None), getattr(self, "item_emb", None)
        if isinstance(user, nn.Embedding) and isinstance(item, nn.Embedding):
            return user.weight, item.weight
        return None

    @classmethod
    def shapes_from_runs(cls, runs: dict[str, Model]) -> dict[str, Any]:
        """Model arguments that must follow the trained models of `starts_from` (their
        widths); ``runs`` holds those given. Default: none."""
        return {}

    def start_from(self, runs: dict[str, Model]) -> None:
        """Copies what it starts from out of the trained models of `starts_from` (the given
        ones), before training. Default: nothing to copy."""

    def item_factors(self) -> tuple[torch.Tensor, torch.Tensor | None] | None:
        """For models whose score is a dot product of a user vector with an item vector
        plus an item offset: (n_items, d) item vectors and (n_items,) offsets (or None),
        through which a new user's vector is solved (`ncf.inference.fold_in`). Default: None."""
        return None

    def user_factors(self, users: torch.Tensor) -> torch.Tensor | None:
        """(B, d) user vectors matching `item_factors`: score(u, i) = u . v_i + offset_i,
        up to a constant per user, so that the best items of a user are those of largest
        inner product (what an approximate index retrieves). Default: None."""
        return None

    def serving_state(self) -> dict[str, torch.Tensor]:
        """Tensors computed from the weights and the observed interactions that a bundle
        stores so that serving does not recompute them (graph models: the propagated
        embeddings, as evaluated). Default: none."""
        return {}

    def load_serving_state(self, state: dict[str, torch.Tensor]) -> None:
        """Takes back what `serving_state` gave, after `observe`. Default: nothing."""

    def fold_in_weights(self) -> tuple[float, float, float]:
        """(unobserved weight, l2, frequency exponent) of a new user's least-squares solve
        (`ncf.inference.fold_in`); iALS's defaults unless the model has its own."""
        return 0.3, 0.007, 1.0

    def observe(self, known: Interactions) -> None:
        """Models that score a user or an item from the interactions (EASE, the
        autoencoder) keep what they need of ``known`` here: the evaluators call it with the
        training part before validation and with train + validation before the test; a
        loaded bundle calls it with the interactions it stores. Default: nothing."""

    def init_from_ratings(self, ratings: np.ndarray) -> None:
        """Initial values from the training ratings (their mean, their range), set by the
        ``rating`` regime before the first epoch. Default: nothing."""

    def regularised(self, users: torch.Tensor, items: torch.Tensor) -> list[torch.Tensor]:
        """Tensors touched by a batch, for per-batch L2 (``reg`` option); default none."""
        return []

    def pair_scores(
        self,
        users: torch.Tensor,
        positives: torch.Tensor,
        negatives: torch.Tensor,
        regularise: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """A batch of the sampled-negative regimes: (B,) scores of the positives, (B, K)
        of their negatives, and the tensors the batch's L2 sees (none unless
        ``regularise``). Default: one ``forward`` over all B (1 + K) pairs and
        ``regularised``; graph models propagate once for the batch instead."""
        k = negatives.shape[1]
        all_users = torch.cat([users, users.repeat_interleave(k)])
        all_items = torch.cat([positives, negatives.reshape(-1)])
        scores = self(all_users, all_items).float()  # (B + B*K,)
        touched = self.regularised(all_users, all_items) if regularise else []
        return scores[: len(users)], scores[len(users) :].view(-1, k), touched


class ClosedForm:
    """A model fitted in closed form or by counting (popularity, EASE, iALS, item-kNN,
    GF-CF): it learns in one call of ``fit`` from the (n_users, n_items) matrix of the
    training interactions, with no training regime, epochs or sampled negatives.
    `ncf.training.fit_model` fits every model: these directly, the others with the
    `Trainer`."""

    objective: ClassVar[str] = "closed-form"
    #: the training settings it uses: the metric that reports its validation
    train_settings: ClassVar[tuple[str, ...]] = ("monitor",)

    def fit(self, train: sp.csr_matrix) -> None:
        """Learns from the (n_users, n_items) matrix of the training interactions."""
        raise NotImplementedError


class EvalCache:
    """A value computed from a model's weights and buffers (propagated embeddings, users'
    states, item-kNN's sparse neighbour matrix), kept while the model is in evaluation
    mode and they are unchanged: any change in place bumps a tensor's version (an
    optimiser step, ``load_state_dict``), a move to another device gives it new storage,
    and ``clear`` drops it when what it was computed from changes. In training mode it is
    computed afresh every call, with gradients, and not kept."""

    def __init__(self) -> None:
        self._key: tuple[tuple[int, int], ...] | None = None
        self._value: Any = None

    def get(self, model: nn.Module, compute: Any) -> Any:
        if model.training:
            self.clear()
            return compute()
        key = _versions(model)
        if self._key != key:
            self._value, self._key = compute(), key
        return self._value

    def clear(self) -> None:
        self._key = self._value = None

    def prime(self, model: nn.Module, value: Any) -> None:
        """Keeps ``value`` as if computed from the model's current weights (a bundle's
        stored copy)."""
        self._key, self._value = _versions(model), value


def _versions(model: nn.Module) -> tuple[tuple[int, int], ...]:
    return tuple((t.data_ptr(), t._version) for t in (*model.parameters(), *model.buffers()))


class EmbeddingModel(Model):
    """A model with a user and an item embedding table (``user_emb``, ``item_emb``): its
    item vectors are the item table, and per-batch L2 (``reg``) touches both tables."""

    user_emb: nn.Embedding
    item_emb: nn.Embedding

    def item_embeddings(self) -> torch.Tensor:
        return self.item_emb.weight

    def regularised(self, users: torch.Tensor, items: torch.Tensor) -> list[torch.Tensor]:
        return [self.user_emb(users), self.item_emb(items)]


class DotProductModel(EmbeddingModel):
    """score(u, i) = user vector . item vector (MF, iALS)."""

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return (self.user_emb(users) * self.item_emb(items)).sum(1)  # (B,)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        return self.user_emb(users) @ self.item_emb.weight.T  # (B, I)

    def item_factors(self) -> tuple[torch.Tensor, None]:
        return self.item_emb.weight, None

    def user_factors(self, users: torch.Tensor) -> torch.Tensor:
        return self.user_emb(users)


def binary_rows(matrix: sp.spmatrix) -> sp.csr_matrix:
    """The (users, items) matrix as float32 CSR with 1 where it has an entry above 0."""
    binary = (matrix > 0).astype(np.float32).tocsr()
    binary.eliminate_zeros()
    return binary


class RowModel(Model):
    """A model that scores a user from their binary row of the user-item matrix (EASE,
    item-kNN, GF-CF, Mult-VAE): it keeps the rows of the interactions it observes or is
    fitted on (``history``) and provides ``score_rows``; a new user's row is scored the
    same way (`ncf.inference.fold_in`)."""

    def __init__(self, n_users: int, n_items: int, **hparams: Any):
        super().__init__(n_users, n_items, **hparams)
        self.history: sp.csr_matrix | None = None  # (n_users, n_items) binary

    def observe(self, known: Interactions) -> None:
        self.set_history(known.csr())

    def set_history(self, matrix: sp.spmatrix) -> None:
        """Keeps the binary user-item matrix users are scored from."""
        self.history = binary_rows(matrix)

    def user_rows(self, users: torch.Tensor) -> torch.Tensor:
        """(B,) users -> their (B, n_items) binary rows on the model's device."""
        if self.history is None:
            raise RuntimeError(f"{self.name} scores users from their rows: call fit() or observe()")
        rows = self.history[users.cpu().numpy()].toarray()
        return torch.from_numpy(rows).to(self.device)

    def score_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """(B, n_items) users' binary rows -> (B, n_items) scores."""
        raise NotImplementedError

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        return self.score_rows(self.user_rows(users))

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return pairs_from_rows(self, users, items)


class ItemFeatures:
    """A mixin for models with a fixed vector per item (S12's hybrid): ``feature_dim``
    values per item, kept in the buffer ``item_features`` (n_items, feature_dim) and
    concatenated to the model's last hidden vector before the output layer. The buffer is
    filled from a file by `set_item_features` (``--set item_features=FILE``); it is saved
    with the weights and never trained. Items without a vector have zeros."""

    n_items: int
    feature_dim: int = 0
    item_features: torch.Tensor

    def _feature_table(self, feature_dim: int) -> None:
        self.feature_dim = int(feature_dim)
        if self.feature_dim < 0:
            raise ValueError(f"feature_dim must be >= 0, got {feature_dim}")
        if self.feature_dim:
            table = torch.zeros(self.n_items, self.feature_dim)
            self.register_buffer("item_features", table)  # type: ignore[attr-defined]

    def set_item_features(self, matrix: np.ndarray) -> None:
        """(n_items, feature_dim) vectors, one per item of the model."""
        if tuple(matrix.shape) != (self.n_items, self.feature_dim):
            raise ValueError(
                f"item features of shape {tuple(matrix.shape)}; the model takes "
                f"({self.n_items}, {self.feature_dim})"
            )
        with torch.no_grad():
            self.item_features.copy_(torch.from_numpy(matrix))

    def with_features(self, hidden: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """(B, h) hidden vectors -> (B, h + feature_dim) with the items' vectors appended."""
        if not self.feature_dim:
            return hidden
        return torch.cat([hidden, self.item_features[items].to(hidden.dtype)], dim=1)

    def feature_scores(self, output: nn.Linear) -> torch.Tensor | float:
        """(n_items,) each item's vector times its weights in ``output`` (the last
        ``feature_dim`` inputs), for ``score_all``; 0 without features."""
        if not self.feature_dim:
            return 0.0
        return self.item_features @ output.weight[0, -self.feature_dim :]


def start_at_mean(output: nn.Linear, ratings: np.ndarray) -> None:
    """Output bias = the mean rating: a model trained on ratings starts from the mean."""
    with torch.no_grad():
        output.bias.fill_(float(np.mean(ratings)) if len(ratings) else 0.0)


def init_embedding(embedding: nn.Embedding, std: float) -> nn.Embedding:
    nn.init.normal_(embedding.weight, std=std)
    return embedding


def bias_tables(n_users: int, n_items: int, sparse: bool = False) -> tuple[nn.Embedding, ...]:
    """A user and an item bias table, (n, 1) each, starting at zero; ``sparse``: sparse
    gradients (see `ncf.training.optim`)."""
    tables = Table(n_users, 1, sparse=sparse), Table(n_items, 1, sparse=sparse)
    for table in tables:
        nn.init.zeros_(table.weight)
    return tables


def gather_rows(matrix: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``matrix[index]`` for an index of any shape, by `index_select`: its backward adds
    the gradient rows up with `index_add_`, several times faster on the CPU than the
    backward of ``matrix[index]`` (an accumulating `index_put_`) or of `F.embedding`.
    The index is made int64 first: the CPU's `index_add_` is some twenty times slower
    with an int32 one (the dtype the regimes keep their epoch's ids in)."""
    flat = index.reshape(-1).long()
    return matrix.index_select(0, flat).view(*index.shape, matrix.shape[1])


class Table(nn.Embedding):
    """`nn.Embedding` (same parameters, same state-dict keys) whose lookups go through
    `gather_rows`: on the CPU, a batch of 64K lookups trains about three times faster.
    Sparse tables, tables with a padding row, and CUDA runs asking for deterministic
    kernels (CUDA's `index_add_` adds in any order) keep `nn.Embedding`'s own path."""

    def forward(self, index: torch.Tensor) -> torch.Tensor:
        if (
            self.sparse
            or self.padding_idx is not None
            or self.max_norm is not None
            or (self.weight.is_cuda and torch.are_deterministic_algorithms_enabled())
        ):
            return super().forward(index)
        return gather_rows(self.weight, index)


def grid_chunk(model: Model, width: int) -> int:
    """Users per chunk so that a (chunk, n_items, width) tensor stays within budget."""
    return max(1, model.score_budget // max(model.n_items * width, 1))


def pairs_from_rows(model: Model, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """(B,) scores of (user, item) pairs from ``score_all`` over the distinct users, for
    models that score a user's whole row at once (EASE, GF-CF)."""
    distinct, inverse = torch.unique(users, return_inverse=True)
    return model.score_all(distinct)[inverse, items]


def inverse_power(degree: np.ndarray, power: float) -> np.ndarray:
    """degree^-power, 0 where the degree is 0 (a node or item without interactions)."""
    safe = np.where(degree > 0, degree, 1.0)
    return np.where(degree > 0, safe**-power, 0.0)


def torch_csr(matrix: sp.csr_matrix) -> torch.Tensor:
    """A scipy CSR matrix as a float32 torch sparse CSR tensor (int64 indices)."""
    with warnings.catch_warnings():  # torch's "beta" notice: what ncf uses works
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            torch.from_numpy(matrix.indptr.astype(np.int64)),
            torch.from_numpy(matrix.indices.astype(np.int64)),
            torch.from_numpy(matrix.data.astype(np.float32)),
            size=matrix.shape,
            check_invariants=False,  # scipy's CSR is well-formed
        )
