"""BSPM, the blurring-sharpening process model of Choi et al. (SIGIR 2023, "Blurring-
Sharpening Process Models for Collaborative Filtering").

A user's history x(0) is blurred by the heat equation over the normalised item-item graph
P~ = R~^T R~ (`ncf.models.spectral`), then sharpened by running it backwards:

    blurring     dx/dt = x P~ - x           t in [0, blur_time]
    ideal        x D^-1/2 V V^T D^1/2       (the authors' ideal process dx/dt = x M - x,
                                            one Euler step over t = 1: x M exactly)
    sharpening   dx/dt = -x P~              from blurred + ideal_weight * ideal

with V the top ``factors`` right singular vectors of R~ and D the items' degrees. The
two processes are linear ODEs solved on a fixed grid of ``steps`` steps (Euler or the classical
fourth-order Runge-Kutta), as the authors' ``torchdiffeq`` calls: for a linear ODE a fixed
step of either method is a polynomial in P~ (RK4's is the degree-4 Taylor polynomial of
exp(-h P~), whichever fourth-order tableau the library uses), so the solution here is
the authors' exactly, computed with sparse products and no (n_items, n_items) matrix.
``final_sharpening=False`` sharpens the blurred signal alone and adds the ideal term
after; ``combine_steps`` averages the states at every step of both processes (the
authors' ``t_point_combination``).

The defaults are the authors' Gowalla settings: ideal weight 0.2 over 448 vectors, one
Euler step of blurring over t = 1 and one RK4 step of sharpening over t = 2.5.

    >>> model = BSPM(n_users, n_items); model.fit(train_matrix)
    >>> model.score_all(torch.tensor([0, 1]))                              # (2, n_items)
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ncf.models.spectral import SpectralFilter

SOLVERS = ("euler", "rk4")
Field = Callable[[torch.Tensor], torch.Tensor]


def integrate(start: torch.Tensor, field: Field, time: float, steps: int, solver: str) -> list:
    """The states of dx/dt = field(x) after each of ``steps`` equal steps up to ``time``."""
    h, states, x = time / steps, [], start
    for _ in range(steps):
        if solver == "euler":
            x = x + h * field(x)
        else:
            k1 = field(x)
            k2 = field(x + h / 2 * k1)
            k3 = field(x + h / 2 * k2)
            k4 = field(x + h * k3)
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        states.append(x)
    return states


class BSPM(SpectralFilter):
    """Args:
    n_users, n_items: index ranges.
    factors: singular vectors of the ideal low-pass term (448).
    ideal_weight: weight of the ideal term (0.2; 0 turns it off).
    blur_time, blur_steps, blur_solver: the blurring process (1.0, 1, ``euler``).
    sharpen_time, sharpen_steps, sharpen_solver: the sharpening process (2.5, 1, ``rk4``;
        ``sharpen_time=0`` turns it off).
    final_sharpening: sharpen blurred + ideal together (True), or the blurred signal
        alone and add the ideal term after.
    combine_steps: average the states after every step of both processes (False).
    svd: ``exact`` (`scipy.sparse.linalg.svds`) or ``randomized``.
    """

    name = "bspm"
    search_space = {
        "ideal_weight": (0.0, 0.5),
        "sharpen_time": (0.5, 4.0),
        "factors": [256, 384, 448, 512],
    }
    summary = "blurring-sharpening ODEs over the normalised item graph (Choi et al. 2023)"
    train_defaults = {"monitor": "recall@20", "ks": [20]}

    def __init__(
        self,
        n_users: int,
        n_items: int,
        factors: int = 448,
        ideal_weight: float = 0.2,
        blur_time: float = 1.0,
        blur_steps: int = 1,
        blur_solver: str = "euler",
        sharpen_time: float = 2.5,
        sharpen_steps: int = 1,
        sharpen_solver: str = "rk4",
        final_sharpening: bool = True,
        combine_steps: bool = False,
        svd: str = "exact",
    ):
        for solver in (blur_solver, sharpen_solver):
            if solver not in SOLVERS:
                raise ValueError(f"solvers are {', '.join(SOLVERS)}, got {solver!r}")
        for steps in (blur_steps, sharpen_steps):
            if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
                raise ValueError(f"steps must be a whole number >= 1, got {steps!r}")
        if blur_time < 0 or sharpen_time < 0:
            raise ValueError("blur_time and sharpen_time must be >= 0")
        super().__init__(
            n_users,
            n_items,
            factors=factors,
            svd=svd,
            ideal_weight=ideal_weight,
            blur_time=blur_time,
            blur_steps=blur_steps,
            blur_solver=blur_solver,
            sharpen_time=sharpen_time,
            sharpen_steps=sharpen_steps,
            sharpen_solver=sharpen_solver,
            final_sharpening=final_sharpening,
            combine_steps=combine_steps,
        )

    def filter_columns(self, columns: torch.Tensor) -> torch.Tensor:
        h = self.hparams
        blurred = integrate(
            columns,
            lambda x: self.smooth(x) - x,
            h["blur_time"],
            h["blur_steps"],
            h["blur_solver"],
        )
        ideal = None
        if h["ideal_weight"] and h["factors"]:  # one Euler step over t = 1 lands on x M
            ideal = self.low_pass(columns * self.degree_power(-0.5)) * self.degree_power(0.5)
        start = blurred[-1]
        if ideal is not None and h["final_sharpening"]:
            start = start + h["ideal_weight"] * ideal
        sharpened = []
        if h["sharpen_time"]:
            sharpened = integrate(
                start,
                lambda x: -self.smooth(x),
                h["sharpen_time"],
                h["sharpen_steps"],
                h["sharpen_solver"],
            )
        if h["combine_steps"]:
            scores = torch.stack(blurred + sharpened).mean(0)
        else:
            scores = sharpened[-1] if sharpened else blurred[-1]
        if ideal is not None and not (h["final_sharpening"] and sharpened):
            scores = scores + h["ideal_weight"] * ideal
        return scores
