"""``last.ckpt`` every N steps, at the end of training, and before an interrupted run exits, each
written atomically."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins import TorchCheckpointIO
from lightning.pytorch.callbacks import ModelCheckpoint

from overlapvae.training.nonfinite import NonFiniteLossError
from overlapvae.utils.files import atomic_write_bytes
from overlapvae.utils.validation import InvalidInputError


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints serialised in memory, then written beside their path and renamed into place:
    a full disk or a crash mid-write leaves the previous checkpoint whole (Lightning writes
    straight to the final path)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        atomic_write_bytes(path, buffer.getvalue())


class LastCheckpoint(ModelCheckpoint):
    """Keeps one checkpoint, ``<dirpath>/last.ckpt`` (written atomically by the trainer's
    ``AtomicCheckpointIO``).

    It is refreshed every ``every_n_train_steps`` steps and when training ends; when a run is
    interrupted (Ctrl-C, SIGTERM, an error outside the loss) it is refreshed once more so no
    finished step is lost. A run stopped by a non-finite loss keeps its last good checkpoint.
    """

    def __init__(self, dirpath: str | Path, every_n_train_steps: int = 1000) -> None:
        if every_n_train_steps < 1:
            raise InvalidInputError(f"every_n_train_steps={every_n_train_steps} is invalid: choose >= 1")
        super().__init__(
            dirpath=dirpath,
            save_last=True,
            save_top_k=0,
            every_n_train_steps=every_n_train_steps,
            enable_version_counter=False,
        )

    @property
    def last_path(self) -> Path:
        return Path(self.dirpath) / "last.ckpt"

    def _save_final(self, trainer: L.Trainer) -> None:
        if trainer.global_step > 0:
            trainer.save_checkpoint(self.last_path, weights_only=False)  # full state, to resume

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_end(trainer, pl_module)
        self._save_final(trainer)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, NonFiniteLossError):
            return
        try:
            self._save_final(trainer)
        except Exception as error:  # keep the original exception the one that propagates
            warnings.warn(f"could not save {self.last_path} after {exception!r}: {error!r}", stacklevel=2)
