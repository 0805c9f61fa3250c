"""Each member of a pack is still a run: its own callbacks, checkpoints and loggers.

A member keeps the callbacks its config built for it alone (metrics, health check, images,
distance figures, any of the user's). ``PackMemberRuns`` calls their hooks with a
``MemberTrainer``, the part of a ``Trainer`` they read (the member's step, loggers and data
module), in the order the member's config lists them, so they run at the steps and see the
weights they would trained alone. What a ``Trainer`` does itself is done here per member:
``LastCheckpoint`` becomes a checkpoint of the member written in the format of a run trained
alone (its weights, its slice of the optimiser's state, its data stream, its callbacks' states,
its open window of running means, its CSV row count) plus the state of its ``ε`` generator;
``NonFiniteLossGuard`` stops that member alone (its record says why; the others go on).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import Logger
from torch import Tensor

from overlapvae.data import GroundTruthDataModule
from overlapvae.frameworks import AutoEncoder
from overlapvae.training.checkpoint import LastCheckpoint
from overlapvae.training.csv_history import AppendingCSVLogger
from overlapvae.training.disentanglement import DisentanglementMetrics
from overlapvae.training.nonfinite import NonFiniteLossError, NonFiniteLossGuard
from overlapvae.training.pack import PackedTraining
from overlapvae.utils.devices import available_cores
from overlapvae.utils.files import atomic_write_bytes

log = logging.getLogger(__name__)

#: Where a member's checkpoint keeps its data stream (Lightning's key for a data module's state).
DATA_STATE = GroundTruthDataModule.__qualname__


@dataclass
class MemberTrainer:
    """What a member's callbacks read of their trainer: the member's step, data module, loggers
    and device (one process, rank 0)."""

    datamodule: GroundTruthDataModule
    loggers: list[Logger]
    strategy: SimpleNamespace
    global_step: int = 0
    interrupted: bool = False
    is_global_zero: bool = True
    global_rank: int = 0


@dataclass
class MemberRun:
    """A member of a pack as a run: its framework, callbacks and trainer view; ``error`` once it
    has stopped (a non-finite loss)."""

    framework: AutoEncoder
    callbacks: list[Callback]
    trainer: MemberTrainer
    error: str | None = None
    stopped_at: int | None = None
    checkpoints: list[LastCheckpoint] = field(init=False)
    guards: list[NonFiniteLossGuard] = field(init=False)

    def __post_init__(self) -> None:
        self.checkpoints = [c for c in self.callbacks if isinstance(c, LastCheckpoint)]
        self.guards = [c for c in self.callbacks if isinstance(c, NonFiniteLossGuard)]

    @property
    def datamodule(self) -> GroundTruthDataModule:
        return self.trainer.datamodule

    def csv_writers(self) -> list:
        return [
            logger.experiment for logger in self.trainer.loggers if isinstance(logger, AppendingCSVLogger)
        ]


def side_by_side(evaluations: Sequence[Callable[[], None]]) -> None:
    """Run the members' due metric evaluations on threads: each encodes its data on the device,
    then fits its classifiers (DCI's, SAP's) on the CPU, where scikit-learn releases the GIL; a
    member's scores do not depend on the others' (each metric draws from its own generator)."""
    if len(evaluations) <= 1:
        for evaluate in evaluations:
            evaluate()
        return
    with ThreadPoolExecutor(min(len(evaluations), available_cores())) as pool:
        for done in [pool.submit(evaluate) for evaluate in evaluations]:
            done.result()


def stateful(callbacks: Sequence[Callback]) -> dict[str, Callback]:
    return {callback.state_key: callback for callback in callbacks}


def noise_state(checkpoint: dict[str, Any], device: torch.device) -> Tensor:
    """Where a member's ``ε`` continue from: the pack's saved generator state, or, in a checkpoint
    of a run trained alone, the global generator's state it saved for the device (``RandomStreams``)."""
    if "pack" in checkpoint:
        return checkpoint["pack"]["noise"]
    streams = checkpoint["callbacks"]["RandomStreams"]
    return streams["cuda"][device.index or 0] if device.type == "cuda" else streams["torch"]


def restore_member(run: MemberRun, checkpoint: dict[str, Any]) -> tuple[dict[str, Tensor], dict[str, float]]:
    """Load a member's checkpoint into its framework, data stream, callbacks and CSV files; return
    its open window's sums and its last logged means."""
    framework = run.framework
    framework.on_load_checkpoint(checkpoint)
    framework.load_state_dict(checkpoint["state_dict"])
    run.datamodule.load_state_dict(checkpoint[DATA_STATE])
    states = checkpoint.get("callbacks", {})
    for key, callback in stateful(run.callbacks).items():
        if key in states:
            callback.load_state_dict(states[key])
    for writer, count in zip(run.csv_writers(), checkpoint.get("csv_history_rows", []), strict=False):
        writer.keep_rows(int(count))
    sums = {name: metric.mean_value.detach().clone() for name, metric in framework.running.items()}
    return sums, {name: float(value) for name, value in framework.last_logged.items()}


class PackMemberRuns(Callback):
    """Drives each member's callbacks, checkpoints and non-finite check (see the module docstring)."""

    def __init__(self, runs: Sequence[MemberRun]) -> None:
        self.runs = list(runs)

    def active(self) -> list[tuple[int, MemberRun]]:
        return [(index, run) for index, run in enumerate(self.runs) if run.error is None]

    def on_train_start(self, trainer: L.Trainer, pl_module: PackedTraining) -> None:
        for _, run in self.active():
            run.trainer.global_step = pl_module.step
            for callback in run.callbacks:
                if not isinstance(callback, (LastCheckpoint, NonFiniteLossGuard)):
                    callback.on_train_start(run.trainer, run.framework)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: PackedTraining, *args: Any) -> None:
        step, batch_idx = pl_module.step, args[-1]
        due = [
            run for _, run in self.active() if self._checkpoint_due(run, step) or self._guard_due(run, step)
        ]
        if due:
            self.stop_nonfinite(pl_module, trainer.optimizers[0])
        evaluations = []
        for index, run in self.active():
            run.trainer.global_step = step
            for callback in run.callbacks:
                if isinstance(callback, LastCheckpoint):
                    if self._checkpoint_due(run, step):
                        self.save(pl_module, trainer.optimizers[0], index, callback.last_path)
                elif isinstance(callback, DisentanglementMetrics):
                    evaluations.append(partial(callback.on_train_batch_end, run.trainer, run.framework))
                elif not isinstance(callback, NonFiniteLossGuard):
                    batch = pl_module.batches[index]
                    callback.on_train_batch_end(run.trainer, run.framework, None, batch, batch_idx)
        side_by_side(evaluations)

    @staticmethod
    def _checkpoint_due(run: MemberRun, step: int) -> bool:
        return any(step % checkpoint._every_n_train_steps == 0 for checkpoint in run.checkpoints)

    @staticmethod
    def _guard_due(run: MemberRun, step: int) -> bool:
        return any(step % guard.check_every_n_steps == 0 for guard in run.guards)

    def stop_nonfinite(self, pl_module: PackedTraining, optimizer: torch.optim.Optimizer | None) -> None:
        """Stop every member whose loss became non-finite (one host sync); raise when none is left."""
        for index, step in enumerate(pl_module.nonfinite_steps()):
            run = self.runs[index]
            if step < 0 or run.error is not None:
                continue
            kept = [str(c.last_path) for c in run.checkpoints if c.last_path.exists()]
            where = f"; the last good checkpoint is {kept[0]}" if kept else ""
            run.stopped_at = pl_module.step
            run.error = (
                f"{NonFiniteLossError.__name__}: the training loss became non-finite at step {step}{where}. "
                "Lower the learning rate or beta, or check the data for NaNs."
            )
            log.error("pack member %d stopped: %s", index, run.error)
        if not self.active():
            raise NonFiniteLossError("every member of the pack has a non-finite loss: " + self.runs[0].error)

    def save(
        self, pl_module: PackedTraining, optimizer: torch.optim.Optimizer, index: int, path: Path
    ) -> None:
        """Write member ``index``'s checkpoint at its current step to ``path`` (atomically)."""
        run, step = self.runs[index], pl_module.step
        framework, datamodule = run.framework, run.datamodule
        sums, window_steps = pl_module.member_window(index)
        for name, metric in framework.running.items():
            metric.mean_value = sums.get(name, torch.zeros(())).to(metric.mean_value)
            metric.weight = torch.full_like(metric.weight, float(window_steps))
        framework.window_steps = window_steps
        framework.last_logged = {
            name: torch.tensor(value) for name, value in pl_module.last_logged[index].items()
        }
        checkpoint = {
            "epoch": step // datamodule.steps_per_epoch,
            "global_step": step,
            "pytorch-lightning_version": L.__version__,
            "state_dict": {name: value.clone() for name, value in framework.state_dict().items()},
            "hyper_parameters": dict(framework.hparams),
            "optimizer_states": [pl_module.member_optimizer_state(optimizer, index)],
            "lr_schedulers": [],
            "callbacks": {key: callback.state_dict() for key, callback in stateful(run.callbacks).items()},
            DATA_STATE: datamodule.state_dict(),
            "csv_history_rows": [writer.rows() for writer in run.csv_writers()],
            "pack": {"noise": pl_module.member_noise_state(index)},
        }
        framework.on_save_checkpoint(checkpoint)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        atomic_write_bytes(path, buffer.getvalue())

    def on_train_end(self, trainer: L.Trainer, pl_module: PackedTraining) -> None:
        if not trainer.interrupted:
            self.finish(pl_module, trainer.optimizers[0] if trainer.optimizers else None)

    def finish(self, pl_module: PackedTraining, optimizer: torch.optim.Optimizer | None) -> None:
        """Each member's end of training: its last checkpoint, its final evaluation and health check
        (its callbacks' ``on_train_end``), in its callbacks' order; its CSV rows written out."""
        self.stop_nonfinite(pl_module, optimizer)
        evaluations = []
        for index, run in self.active():
            run.trainer.global_step = pl_module.step
            for callback in run.callbacks:
                if isinstance(callback, LastCheckpoint):
                    if optimizer is not None and pl_module.step > 0:
                        self.save(pl_module, optimizer, index, callback.last_path)
                elif isinstance(callback, DisentanglementMetrics):
                    evaluations.append(partial(callback.on_train_end, run.trainer, run.framework))
                elif not isinstance(callback, NonFiniteLossGuard):
                    callback.on_train_end(run.trainer, run.framework)
        side_by_side(evaluations)
        for _, run in self.active():
            for logger in run.trainer.loggers:
                logger.save()

    def on_exception(self, trainer: L.Trainer, pl_module: PackedTraining, exception: BaseException) -> None:
        """Save every member that is still running at its last finished step (not after a
        non-finite loss: those keep their last good checkpoint)."""
        if isinstance(exception, NonFiniteLossError) or not trainer.optimizers or pl_module.step == 0:
            return
        for index, run in self.active():
            for checkpoint in run.checkpoints:
                try:
                    self.save(pl_module, trainer.optimizers[0], index, checkpoint.last_path)
                except Exception as error:  # keep the original exception the one that propagates
                    log.warning("could not save %s after %r: %r", checkpoint.last_path, exception, error)
