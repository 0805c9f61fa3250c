"""Stop training at the first non-finite loss, naming the step and the last finite losses.

The check stays on the device: each step folds ``isfinite(loss)`` into a few tensors, and the
host looks at them only every ``check_every_n_steps`` steps, before any checkpoint is written and
when training ends, so a bad step can never reach ``last.ckpt``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor

from overlapvae.utils.validation import InvalidInputError


class NonFiniteLossError(RuntimeError):
    """Raised when a training loss becomes NaN or infinite."""


class NonFiniteLossGuard(Callback):
    def __init__(self, check_every_n_steps: int = 1) -> None:
        if check_every_n_steps < 1:
            raise InvalidInputError(f"check_every_n_steps={check_every_n_steps} is invalid: choose >= 1")
        self.check_every_n_steps = check_every_n_steps
        self._first_bad_step: Tensor | None = None
        self._last_finite: dict[str, Tensor] = {}
        self._last_finite_step: Tensor | None = None

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        terms = {name: value.detach() for name, value in outputs.items() if isinstance(value, Tensor)}
        finite = torch.isfinite(terms["loss"])
        step = torch.full((), trainer.global_step, device=finite.device)  # a fill, not a host copy
        if self._first_bad_step is None:
            self._first_bad_step = torch.full_like(step, -1)
            self._last_finite_step = torch.full_like(step, -1)
            self._last_finite = {name: torch.full_like(value, float("nan")) for name, value in terms.items()}
        newly_bad = (~finite) & (self._first_bad_step < 0)
        self._first_bad_step = torch.where(newly_bad, step, self._first_bad_step)
        keep = finite & (self._first_bad_step < 0)
        self._last_finite_step = torch.where(keep, step, self._last_finite_step)
        for name, value in terms.items():
            self._last_finite[name] = torch.where(keep, value, self._last_finite[name])
        if trainer.global_step % self.check_every_n_steps == 0:
            self.check(trainer)

    def check(self, trainer: L.Trainer) -> None:
        """Raise :class:`NonFiniteLossError` if any step so far had a non-finite loss (one sync)."""
        if self._first_bad_step is None or int(self._first_bad_step) < 0:
            return
        last = ", ".join(f"{name}={float(value):.6g}" for name, value in self._last_finite.items())
        checkpoint = getattr(trainer.checkpoint_callback, "dirpath", None)
        kept = Path(checkpoint) / "last.ckpt" if checkpoint else None
        where = f"; the last good checkpoint is {kept}" if kept is not None and kept.exists() else ""
        raise NonFiniteLossError(
            f"the training loss became non-finite at step {int(self._first_bad_step)}; "
            f"last finite losses (step {int(self._last_finite_step)}): {last or 'none'}{where}. "
            "Lower the learning rate or beta, or check the data for NaNs."
        )

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        self.check(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.check(trainer)
