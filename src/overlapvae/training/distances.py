"""Every N steps and at the end of training: the distances of the model being trained (the
paper's §3.3, Figs. 4 and 10), as a figure in the run dir and on every logger with images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from overlapvae.analysis import model_distance_matrices
from overlapvae.results.figures import figure_array, model_distance_figure, save_figure
from overlapvae.utils.validation import InvalidInputError


class ModelDistanceFigures(Callback):
    """Writes ``<dirpath>/step_<N>.png``: per factor, the averaged matrices of ground-truth (factors),
    input (x), latent (z), posterior (kl) and reconstruction (x_recon) distances over
    ``num_traversals`` random traversals, drawn with a fixed ``seed`` so figures are comparable."""

    def __init__(
        self, dirpath: str | Path, every_n_steps: int = 3600, num_traversals: int = 100, seed: int = 7777
    ) -> None:
        if min(every_n_steps, num_traversals) < 1:
            raise InvalidInputError("every_n_steps and num_traversals must each be >= 1")
        self.dirpath = Path(dirpath)
        self.every_n_steps = every_n_steps
        self.num_traversals = num_traversals
        self.seed = seed
        self._written_step = -1

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if trainer.global_step > 0 and trainer.global_step % self.every_n_steps == 0:
            self.write(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._written_step != trainer.global_step:
            self.write(trainer, pl_module)

    def write(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Path:
        datamodule = trainer.datamodule
        generator = torch.Generator(pl_module.device).manual_seed(self.seed)
        matrices = model_distance_matrices(
            pl_module, datamodule.data, datamodule.standardise, self.num_traversals, generator
        )
        step = trainer.global_step
        figure = model_distance_figure(matrices, type(pl_module).__name__, step)
        path = save_figure(figure, self.dirpath / f"step_{step:07d}", formats=("png",))[0]
        self._written_step = step
        for logger in trainer.loggers:
            if hasattr(logger, "log_image"):
                logger.log_image(key="train/distances", images=[figure_array(figure)], step=step)
        return path
