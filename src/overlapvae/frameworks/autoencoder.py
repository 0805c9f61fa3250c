"""The framework base: a LightningModule that trains an encoder/decoder with a reconstruction loss.

Frameworks know nothing about the data set they see: the image shape (and, where an estimator
needs it, the data set size) are passed in. Each framework returns a dict of named loss terms;
their running means over the last ``log_every_n_steps`` steps are logged as ``train/<term>``.
The open window of those means and the last logged values are saved in checkpoints, so a resumed
run logs exactly what an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import lightning as L
import torch
import torchmetrics
from torch import Tensor, nn

from overlapvae.losses.reconstruction import ReconstructionLoss
from overlapvae.models.autoencoder import AutoEncoderModel
from overlapvae.utils.validation import InvalidInputError

ModelFactory = Callable[..., AutoEncoderModel]
OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]


class AutoEncoder(L.LightningModule):
    """A deterministic autoencoder: ``loss = L_rec(decode(encode(x)), x)``."""

    #: Encoder outputs per latent dimension (1: a code; 2: a Gaussian's mean and log-variance).
    encoder_heads: int = 1
    #: Names of the loss terms ``loss_terms`` returns, in logging order.
    term_names: tuple[str, ...] = ("recon", "loss")
    #: Constructor arguments the app injects (``overlapvae.experiment.build``), never config keys.
    injected: tuple[str, ...] = ("model", "recon_loss", "optimizer", "image_shape")
    #: Memory format of the weights and of every input (``use_memory_format``).
    memory_format: torch.memory_format = torch.contiguous_format

    def __init__(
        self,
        model: ModelFactory,
        recon_loss: ReconstructionLoss,
        optimizer: OptimizerFactory,
        image_shape: Sequence[int],
    ) -> None:
        super().__init__()
        if recon_loss.reduction == "none":
            raise InvalidInputError(
                "recon_loss.reduction='none' cannot train: choose mean, sum or sample_sum"
            )
        self.image_shape = tuple(image_shape)
        self.model = model(image_shape=self.image_shape, encoder_heads=self.encoder_heads)
        self.recon_loss = recon_loss
        self.optimizer_factory = optimizer
        self.running = nn.ModuleDict(
            {name: torchmetrics.MeanMetric(nan_strategy="disable") for name in self.term_names}
        )
        for metric in self.running.values():
            metric.persistent(True)  # the open window goes into checkpoints
        self.window_steps = 0  # steps in the open window of running means
        self.last_logged: dict[str, Tensor] = {}
        self.save_hyperparameters(ignore=["model", "recon_loss", "optimizer"])
        self.hparams.update(self.derived_hyperparameters())

    def derived_hyperparameters(self) -> dict[str, Any]:
        """Values computed from the arguments, saved and logged with the hyperparameters."""
        loss = self.recon_loss
        return {
            "latent_size": self.latent_size,
            "recon_reduction": loss.reduction,
            "recon_scale": loss.effective_scale,
            "recon_scale_matched": loss.match_scale,
            "recon_smoothing_steps": loss.smoothing_steps if loss.smooths_its_start else 0,
            "recon_smoothing_start": loss.smoothing_start,
        }

    @property
    def latent_size(self) -> int:
        return self.model.latent_size

    def use_memory_format(self, memory_format: torch.memory_format) -> None:
        """Put the weights, and every input from now on, in ``memory_format`` (e.g. channels_last)."""
        self.to(memory_format=memory_format)
        self.memory_format = memory_format

    def in_layout(self, images: Tensor) -> Tensor:
        """``images`` in the model's memory format (no copy when they already are)."""
        return images.contiguous(memory_format=self.memory_format)

    def batch_images(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        """Every image of a training batch, ``[N, C, H, W]`` in the model's layout (a framework
        trained on pairs flattens them)."""
        return self.in_layout(batch[0])

    def prepare_batch(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        """What ``loss_terms`` trains on: the batch's images ``[B, C, H, W]``."""
        return self.batch_images(batch)

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """``(code, None)``: a deterministic encoder's code, with no log-variance (a VAE returns its
        Gaussian's mean and log-variance)."""
        return self.model.encode(self.in_layout(x)), None

    def encode(self, x: Tensor) -> Tensor:
        """The representation of ``x``: ``[B, latent_size]`` (a VAE's posterior mean)."""
        return self.posterior(x)[0]

    def decode(self, z: Tensor) -> Tensor:
        """Images (on the target scale) decoded from latents ``z``."""
        return self.recon_loss.activate(self.model.decode(z))

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    def reconstruction_errors(self, x: Tensor) -> Tensor:
        """Per-image errors ``[B]`` of reconstructing ``x`` from its representation (a VAE's
        posterior mean) under the training loss, without its scale (``sample_errors``)."""
        x = self.in_layout(x)
        return self.recon_loss.sample_errors(self.model.decode(self.encode(x)), x)

    def loss_terms(self, x: Tensor) -> dict[str, Tensor]:
        recon = self.recon_loss(self.model.decode(self.encode(x)), x)
        return {"recon": recon, "loss": recon}

    #: ``None``: batches of single images; otherwise batches of pairs drawn by this
    #: ``overlapvae.data.pairs`` mode (weakly supervised frameworks).
    pair_sampling: str | None = None

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> dict[str, Tensor]:
        images = self.prepare_batch(batch)
        self.recon_loss.smoothing = self.recon_loss.smoothing_at(self.global_step)
        terms = self.loss_terms(images)
        detached = {name: value.detach() for name, value in terms.items()}
        for name, value in detached.items():
            self.running[name].update(value)
        self.window_steps += 1
        interval = self.trainer.log_every_n_steps
        if interval > 0 and (self.global_step + 1) % interval == 0:
            self._log_running_means()
        return {**detached, "loss": terms["loss"]}

    def _log_running_means(self) -> None:
        """Log the window's means as ``train/<term>`` at this step, straight to the loggers: the
        row is then written before a checkpoint of this step is taken (Lightning would hand it to
        the loggers only after the checkpoint), so a resumed run's history has it exactly once."""
        means = {f"train/{name}": value for name, value in self.compute_running_means().items()}
        self.last_logged.update(means)
        for logger in self.loggers:
            logger.log_metrics({**means, "epoch": self.current_epoch}, step=self.global_step)
        if "train/loss" in means:
            self.log("train/loss", means["train/loss"], prog_bar=True, logger=False)

    def final_losses(self) -> dict[str, float]:
        """The last logged window of running means, refreshed by any steps trained after it."""
        final = {name: float(value) for name, value in self.last_logged.items()}
        final.update({f"train/{name}": float(value) for name, value in self.compute_running_means().items()})
        return final

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["running_means"] = {
            "window_steps": self.window_steps,
            "last_logged": {name: float(value) for name, value in self.last_logged.items()},
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Restore the open window of running means (a checkpoint written before they were saved
        starts an empty one)."""
        state = checkpoint.get("running_means", {"window_steps": 0, "last_logged": {}})
        weights = checkpoint.setdefault("state_dict", {})
        for name, metric in self.running.items():
            metric.reset()
            for key, value in metric.state_dict(prefix=f"running.{name}.").items():
                weights.setdefault(key, value)
        self.window_steps = int(state["window_steps"])
        self.last_logged = {name: torch.tensor(value) for name, value in state["last_logged"].items()}

    def compute_running_means(self) -> dict[str, Tensor]:
        """Mean of each term over the steps since the last call (one sync), then start a new window."""
        means = {}
        for name, metric in self.running.items():
            if self.window_steps > 0:
                means[name] = metric.compute()
            metric.reset()
        self.window_steps = 0
        return means

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(self.parameters())
