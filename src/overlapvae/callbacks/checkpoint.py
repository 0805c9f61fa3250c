"""``last.ckpt`` every N steps, at the end of training, and before an interrupted run exits."""

from __future__ import annotations

import warnings
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from overlapvae.callbacks.nonfinite import NonFiniteLossError


class LastCheckpoint(ModelCheckpoint):
    """Keeps one checkpoint, ``<dirpath>/last.ckpt`` (written atomically by Lightning).

    It is refreshed every ``every_n_train_steps`` steps and when training ends; when a run is
    interrupted (Ctrl-C, SIGTERM, an error outside the loss) it is refreshed once more so no
    finished step is lost. A run stopped by a non-finite loss keeps its last good checkpoint.
    """

    def __init__(self, dirpath: str | Path, every_n_train_steps: int = 1000) -> None:
        if every_n_train_steps < 1:
            raise ValueError(f"every_n_train_steps={every_n_train_steps} is invalid: choose >= 1")
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
