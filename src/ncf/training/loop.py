"""The training loop: one `Trainer` for every way of training.

What differs between ways of training (the batches of an epoch and the loss on one) is
a regime's (`ncf.training.regimes`); the loop steps through the epoch's batches, and
after every ``eval_every`` epochs the validation metric is computed; the best weights are kept and
restored at the end, and training stops after ``patience`` epochs without improvement.
A checkpoint written every epoch lets ``resume()`` continue exactly where it stopped.

    >>> trainer = Trainer(model, split.train, TrainConfig(epochs=10), valid_evaluator, run_dir)
    >>> history = trainer.fit()
"""

from __future__ import annotations

import contextlib
import copy
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich import get_console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ncf.data.interactions import Interactions
from ncf.errors import DataError, Interrupted, UsageError
from ncf.evaluation.metrics import higher_is_better
from ncf.models.base import Model
from ncf.random import Generators
from ncf.runtime.distributed import current
from ncf.training.checkpoint import load_checkpoint, save_checkpoint
from ncf.training.config import TrainConfig
from ncf.training.optim import Optimisation
from ncf.training.regimes import make_regime, regime_name

Callback = Callable[[dict[str, Any]], None]


class Trainer:
    """Trains a gradient-based `Model` with its regime (`ncf.training.regimes`).

    Args:
        model: the model; it trains with the regime ``config.objective`` names, else
            with its own ``objective``.
        train: training interactions.
        config: training settings.
        evaluate: callable model -> validation metrics, or None to train blind.
        generators: random streams (training negatives and batch order are drawn here).
        checkpoint: file to write after every epoch (None: no checkpoints).
        callbacks: called with each epoch's history row (logging, TensorBoard).
        progress: show a progress bar.
        amp: autocast to bfloat16 on CUDA.
        stop_at: stop after this many epochs (the schedule still spans ``config.epochs``);
            used to refit for the number of epochs chosen on validation.
        baseline: a validation score to beat (an earlier phase's best, for fine-tuning):
            an epoch is selected only when it beats it, else the weights the training
            started from are restored (best epoch 0).
    """

    def __init__(
        self,
        model: Model,
        train: Interactions,
        config: TrainConfig,
        evaluate: Callable[[Model], dict[str, float]] | None,
        generators: Generators,
        checkpoint: Path | None = None,
        callbacks: list[Callback] | None = None,
        progress: bool = True,
        amp: bool = False,
        stop_at: int | None = None,
        baseline: float | None = None,
    ):
        self.model, self.config, self.evaluate = model, config, evaluate
        #: the processes training together (`ncf.runtime.distributed`); one, by default
        self.world = current()
        self.generators = self.world.streams(generators)
        self.checkpoint, self.callbacks = checkpoint, callbacks or []
        self.progress, self.amp = progress, amp and model.device.type == "cuda"
        self.stop_at = config.epochs if stop_at is None else min(stop_at, config.epochs)
        self.regime = make_regime(regime_name(model, config), train, config, model.device)
        self.regime.spread(self.world)
        self.regime.start(model)
        self.higher_is_better = higher_is_better(config.monitor)
        self.optimisation = Optimisation(model, config, self.regime.batches_per_epoch())
        # compiled once per Trainer; the last, smaller batch of an epoch compiles once more
        loss = torch.compile(self.regime.loss) if config.compile else self.regime.loss
        # summed losses are summed over the processes too (DDP averages gradients)
        scale = self.world.size if config.reduction == "sum" else 1
        self._loss = self.world.data_parallel(model, loss, scale)
        self.hogwild = config.hogwild_workers > 0
        if self.hogwild and (
            self.optimisation.per_batch or model.device.type != "cpu" or self.world.size > 1
        ):
            raise UsageError(
                "hogwild_workers trains in one process on the CPU with schedules stepped per "
                f"epoch (schedule {config.schedule!r}, device {model.device.type}, "
                f"{self.world.size} processes)"
            )
        self.epoch = 0
        self.history: list[dict[str, Any]] = []
        #: (position in epochs, learning rate) per batch, for schedules stepped per batch
        self.lr_trace: list[tuple[float, float]] = []
        self.best_score = -np.inf if self.higher_is_better else np.inf
        self.best_epoch = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        if baseline is not None:
            self.best_score = baseline
            self.best_state = copy.deepcopy(model.state_dict())
        self.bad_epochs = 0
        self._partial: dict[str, Any] | None = None  # a mid-epoch checkpoint's position
        self._workers: Any = None  # Hogwild's worker processes, while training
        self._epoch_lr = 0.0  # the learning rate at the start of the running epoch
        self._signal: int | None = None

    # ------------------------------------------------------------------ one epoch

    def train_epoch(self) -> dict[str, float]:
        """One pass over the regime's batches; returns the mean loss and the regime's notes.

        The epoch's batch order and negatives are drawn from the generators' state at its
        start, so an epoch interrupted mid-way is replayed exactly from a checkpoint that
        stores that state and the batch reached (see `resume`)."""
        config, model = self.config, self.model
        self._maybe_switch()
        if self.hogwild:  # the workers lay out the epoch; it stops only at its end
            total_loss, n_batches, notes = self._hogwild().run_epoch()
            self.optimisation.end_epoch()
            return {"loss": total_loss / max(n_batches, 1), **notes}
        partial, self._partial = self._partial, None
        if partial is not None and partial.get("world", 1) != self.world.size:
            # shares of another number of processes: the epoch starts again, its order
            # and negatives drawn as they were
            partial = {**partial, "batch": 0, "total": torch.zeros(())}
        if partial is not None:
            self.generators.torch.set_state(partial["torch_rng"])
            self._restore_negatives(partial.get("process_negatives_rng"), partial["negatives_rng"])
        epoch_rng = (
            self.generators.torch.get_state(),
            copy.deepcopy(self.generators.train_negatives.bit_generator.state),
        )
        plan = self.regime.epoch(self.generators)
        model.train()
        n_batches = plan.n_batches
        device = model.device
        first, total = 0, torch.zeros((), device=device)
        if partial is not None:
            mine = self._mine(partial.get("process_total"))  # this process's running loss
            first, total = partial["batch"], (partial["total"] if mine is None else mine).to(device)
        trace_every = max(1, n_batches // 500)  # at most ~500 points of the LR per epoch
        columns = [
            TextColumn(f"epoch {self.epoch + 1}/{config.epochs}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[loss]}"),
        ]
        console = get_console()  # a file or pipe gets no bars; a notebook its own
        bars = self.progress and (console.is_terminal or console.is_jupyter)
        with Progress(*columns, disable=not bars, transient=True) as bar:
            task = bar.add_task("train", total=n_batches, completed=first, loss="")
            for b in range(first, n_batches):
                if self.optimisation.per_batch and b % trace_every == 0:
                    self.lr_trace.append((self.epoch + b / n_batches, self.optimisation.lr))
                loss = self._step(plan.batch(b))
                total += loss.detach()
                if b % 50 == 0 or b == n_batches - 1:
                    bar.update(task, completed=b + 1, loss=f"loss {total.item() / (b + 1):.4f}")
                if b + 1 < n_batches and self._signalled(b):
                    self._stop(epoch_rng, b + 1, n_batches, total)
        self.optimisation.end_epoch()
        loss = self.world.mean(total.item() / max(n_batches, 1))
        return {"loss": loss, **plan.notes}

    def _signalled(self, b: int) -> bool:
        """Whether to stop after batch ``b`` for a signal: at once in one process; with
        several, every 50 batches, when any process has had one (they stop together)."""
        if self.world.size == 1:
            return self._signal is not None
        return b % 50 == 49 and self.world.any(self._signal is not None)

    def _step(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """One optimisation step on one of the regime's batches."""
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp):
            loss = self._loss(self.model, batch)
        self.optimisation.zero_grad()
        loss.backward()
        self.optimisation.step()
        return loss

    def _maybe_switch(self) -> None:
        """Switches to ``switch_optimizer`` when the epoch about to run is ``switch_epoch``."""
        config = self.config
        if config.switch_optimizer and self.epoch + 1 >= config.switch_epoch:
            if not self.optimisation.switched:
                self.optimisation = self.optimisation.switch()
                self._close_workers()  # they hold the optimisers of before

    def _hogwild(self) -> Any:
        """The Hogwild workers, started (with the model moved to shared memory) on first use."""
        if self._workers is None:
            from ncf.training import hogwild

            self.model.share_memory()
            self._workers = hogwild.Workers(
                self.config.hogwild_workers,
                self.regime,
                self._step,
                self.optimisation,
                self.generators,
            )
        return self._workers

    def _close_workers(self) -> None:
        if self._workers is not None:
            self._workers.close()
            self._workers = None

    # ------------------------------------------------------------------ the loop

    def fit(self) -> list[dict[str, Any]]:
        """Trains until ``epochs`` or early stopping; restores the best weights.

        Raises:
            Interrupted: on SIGINT / SIGTERM, after writing the checkpoint."""
        try:
            with self._catch_signals():
                self._fit_epochs()
        finally:
            self._close_workers()
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        else:
            self.best_epoch = self.epoch
        return self.history

    def _fit_epochs(self) -> None:
        config = self.config
        if config.eval_at_start and self.evaluate is not None and not self.history:
            self._evaluate_untrained()
        while self.epoch < self.stop_at and self.bad_epochs < config.patience:
            started = time.perf_counter()
            self._maybe_switch()
            # the rate this epoch trains with (its first batch's; kept across a resume)
            lr = (
                self._partial["lr"]
                if self._partial and "lr" in self._partial
                else self.optimisation.lr
            )
            self._epoch_lr = lr
            row: dict[str, Any] = {"epoch": self.epoch + 1, **self.train_epoch()}
            if not np.isfinite(row["loss"]):
                raise UsageError(
                    f"training diverged: the loss is {row['loss']} in epoch {self.epoch + 1} "
                    f"(learning rate {lr:g}); try a lower learning rate (--lr)"
                )
            row["lr"] = lr
            row["train_s"] = time.perf_counter() - started
            self.epoch += 1
            if self.evaluate is not None and (
                self.epoch % config.eval_every == 0 or self.epoch == config.epochs
            ):
                eval_started = time.perf_counter()
                valid = self.evaluate(self.model)
                row["eval_s"] = time.perf_counter() - eval_started
                row.update({f"valid_{k}": v for k, v in valid.items()})
                self._select(valid)
            row["seconds"] = time.perf_counter() - started
            self.history.append(row)
            if self.checkpoint is not None:
                self._save_checkpoint()
            for callback in self.callbacks:
                callback(row)
            if self.world.any(self._signal is not None):
                self._stop(None, 0, 0, None)

    def _evaluate_untrained(self) -> None:
        """Epoch 0: the untrained model's validation metrics, for learning curves that
        start from the beginning. It is not a candidate for selection."""
        started = time.perf_counter()
        valid = self.evaluate(self.model)  # type: ignore[misc]
        row = {"epoch": 0, **{f"valid_{k}": v for k, v in valid.items()}}
        row["eval_s"] = row["seconds"] = time.perf_counter() - started
        self.history.append(row)
        for callback in self.callbacks:
            callback(row)

    def _select(self, valid: dict[str, float]) -> None:
        if self.config.monitor not in valid:
            raise ValueError(f"monitor {self.config.monitor!r} not among {sorted(valid)}")
        score = valid[self.config.monitor]
        if score > self.best_score if self.higher_is_better else score < self.best_score:
            self.best_score, self.best_epoch, self.bad_epochs = score, self.epoch, 0
            self.best_state = copy.deepcopy(self.model.state_dict())
        else:
            self.bad_epochs += 1

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bit-for-bit: weights, optimiser, schedule, RNGs."""
        return {
            "model": self.model.state_dict(),
            "optimisation": self.optimisation.state_dict(),
            "epoch": self.epoch,
            "lr_trace": list(self.lr_trace),
            "history": self.history,
            "best_score": float(self.best_score),
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
            "bad_epochs": self.bad_epochs,
            "torch_rng": self.generators.torch.get_state(),
            "global_rng": _global_rng(),
            "negatives_rng": self.generators.train_negatives.bit_generator.state,
            "partial": None,
        }

    def _save_checkpoint(self, partial: dict[str, Any] | None = None) -> None:
        """Writes `state_dict` (and a stopped epoch's ``partial``) with every process's
        own stream of negatives, so that a run resumed at the same number of processes
        goes on exactly. Every process calls it; the first builds the state and writes."""
        streams = self.world.gather(self.generators.train_negatives.bit_generator.state)
        if self.world.main:
            state = {**self.state_dict(), "process_negatives_rng": streams, "partial": partial}
            save_checkpoint(self.checkpoint, state)

    def _mine(self, saved: list[Any] | None) -> Any:
        """This process's entry of a per-process list that as many processes saved, else
        None."""
        if saved is not None and len(saved) == self.world.size:
            return saved[self.world.rank]
        return None

    def _restore_negatives(self, saved: list[Any] | None, first: Any) -> None:
        """This process's stream of negatives: its own saved state when the checkpoint
        was written by as many processes, else the first process's, jumped."""
        own = self._mine(saved)
        if own is not None:
            self.generators.train_negatives.bit_generator.state = own
            return
        self.generators.train_negatives.bit_generator.state = first
        self.generators = self.world.streams(self.generators)

    def resume(self, path: Path) -> None:
        """Restores a checkpoint written by this trainer, at an epoch's end or mid-epoch."""
        state = load_checkpoint(path)
        self.model.load_state_dict(state["model"])
        saved = state.get("optimisation") or _single_optimizer(state, path)
        if saved["switched"] and not self.optimisation.switched:
            self.optimisation = self.optimisation.switch()
        self.optimisation.load_state_dict(saved)
        self._close_workers()
        self.epoch, self.history = state["epoch"], state["history"]
        self.lr_trace = list(state.get("lr_trace", []))
        self.best_score, self.best_epoch = state["best_score"], state["best_epoch"]
        self.best_state, self.bad_epochs = state["best_state"], state["bad_epochs"]
        self.generators.torch.set_state(state["torch_rng"])
        _set_global_rng(state["global_rng"])
        self._restore_negatives(state.get("process_negatives_rng"), state["negatives_rng"])
        self._partial = state.get("partial")

    def resumed_at(self) -> str:
        """Where a resumed run goes on from, in words."""
        partial = self._partial
        if partial is None:
            return f"after epoch {self.epoch} of {self.stop_at}"
        where = f"in epoch {self.epoch + 1} of {self.stop_at}"
        if partial.get("world", 1) != self.world.size:
            return f"{where}, from its first batch (stopped with {partial['world']} processes)"
        return f"{where}, at batch {partial['batch'] + 1}"

    # ------------------------------------------------------------------ signals

    @contextlib.contextmanager
    def _catch_signals(self) -> Iterator[None]:
        """SIGINT / SIGTERM stop training at the next batch boundary with a checkpoint;
        a second signal acts at once."""
        self._signal = None
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: object) -> None:
            self._signal = signum
            signal.signal(signum, previous[signum])

        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)

    def _stop(
        self, epoch_rng: tuple | None, batch: int, n_batches: int, total: torch.Tensor | None
    ) -> None:
        """Saves a checkpoint (mid-epoch when ``epoch_rng`` is given) and raises `Interrupted`."""
        signum = self._signal or signal.SIGINT
        where = f"epoch {self.epoch + 1}, batch {batch} of {n_batches}"
        if epoch_rng is None:
            where = f"the end of epoch {self.epoch}"
        if self.checkpoint is None:
            raise Interrupted(signum, f"{signal.Signals(signum).name} at {where}; no checkpoint")
        partial = None
        if epoch_rng is not None:
            partial = {
                "lr": self._epoch_lr,
                "batch": batch,
                "total": total.detach().cpu(),
                "torch_rng": epoch_rng[0],
                "negatives_rng": epoch_rng[1],
                "world": self.world.size,
                "process_negatives_rng": self.world.gather(epoch_rng[1]),
                "process_total": self.world.gather(total.detach().cpu()),
            }
        self._save_checkpoint(partial)
        raise Interrupted(
            signum,
            f"{signal.Signals(signum).name} at {where}; checkpoint saved to {self.checkpoint}; "
            "run the same command with --resume to continue",
        )


def _single_optimizer(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """A checkpoint with one optimiser and one scheduler (before parameter groups), as
    `Optimisation` state."""
    if "optimizer" not in state:
        raise DataError("the checkpoint has no optimiser state", path)
    return {
        "switched": False,
        "optimizers": {"main": state["optimizer"]},
        "schedulers": {"main": state["scheduler"]},
    }


def _global_rng() -> dict[str, Any]:
    """Torch's global generators (dropout draws from them)."""
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_global_rng(state: dict[str, Any] | torch.Tensor) -> None:
    if isinstance(state, torch.Tensor):  # checkpoints before the CUDA state was kept
        state = {"cpu": state}
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
