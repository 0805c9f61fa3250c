"""Every N steps: a PNG of inputs, reconstructions and latent traversals, in the run dir and loggers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor

from overlapvae.data.standardise import destandardise
from overlapvae.results.figures import image_grid, png_bytes
from overlapvae.utils.files import atomic_write_bytes
from overlapvae.utils.validation import InvalidInputError


def traversal_codes(codes: Tensor, steps: int, spread: float = 2.0) -> Tensor:
    """``[D · steps, D]``: the first code with each dimension swept over its batch mean ± spread·std."""
    latent_size = codes.shape[1]
    values = codes.mean(dim=0, keepdim=True) + spread * codes.std(dim=0, keepdim=True) * torch.linspace(
        -1.0, 1.0, steps, device=codes.device
    ).view(-1, 1)
    sweep = codes[:1].repeat(latent_size * steps, 1)
    for dim in range(latent_size):
        sweep[dim * steps : (dim + 1) * steps, dim] = values[:, dim]
    return sweep


class ReconstructionImages(Callback):
    """Writes ``<dirpath>/step_<N>.png``: a row of inputs, a row of reconstructions, then one row
    per latent dimension traversing the first input's representation."""

    def __init__(
        self, dirpath: str | Path, every_n_steps: int = 500, num_images: int = 8, traversal_steps: int = 9
    ):
        if min(every_n_steps, num_images, traversal_steps) < 1:
            raise InvalidInputError("every_n_steps, num_images and traversal_steps must each be >= 1")
        self.dirpath = Path(dirpath)
        self.every_n_steps = every_n_steps
        self.num_images = num_images
        self.traversal_steps = traversal_steps
        self._latest_images: Tensor | None = None
        self._written_step = -1

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        images = pl_module.batch_images(batch)
        self._latest_images = images
        if trainer.global_step % self.every_n_steps == 0:
            self.write(trainer, pl_module, images)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._latest_images is not None and self._written_step != trainer.global_step:
            self.write(trainer, pl_module, self._latest_images)

    @torch.no_grad()
    def figure(self, trainer: L.Trainer, pl_module: L.LightningModule, images: Tensor) -> np.ndarray:
        was_training = pl_module.training
        pl_module.eval()
        try:
            inputs = images[: self.num_images]
            codes = pl_module.encode(images)
            reconstructions = pl_module.decode(codes[: self.num_images])
            traversals = pl_module.decode(traversal_codes(codes, self.traversal_steps))
        finally:
            pl_module.train(was_training)
        rows = [inputs, reconstructions, *traversals.split(self.traversal_steps)]
        columns = max(len(row) for row in rows)  # each row padded with zeros to the longest
        tiles = torch.cat(
            [torch.cat([row, row.new_zeros((columns - len(row), *row.shape[1:]))]) for row in rows]
        ).float()
        datamodule = trainer.datamodule
        if datamodule.standardise:
            tiles = destandardise(tiles, datamodule.data.mean, datamodule.data.std)
        return image_grid(tiles.clamp(0.0, 1.0).cpu(), columns).numpy()

    def write(self, trainer: L.Trainer, pl_module: L.LightningModule, images: Tensor) -> Path:
        grid = self.figure(trainer, pl_module, images)
        path = self.dirpath / f"step_{trainer.global_step:07d}.png"
        atomic_write_bytes(path, png_bytes(grid))
        self._written_step = trainer.global_step
        for logger in trainer.loggers:
            if hasattr(logger, "log_image"):
                logger.log_image(key="train/reconstructions", images=[grid], step=trainer.global_step)
        return path
