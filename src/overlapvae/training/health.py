"""Is the decoder learning anything? The run health check (no reference framework has one).

Every ``every_n_steps`` steps and when training ends, the model reconstructs a fixed, seeded sample
of ``num_images`` observations from their representations (the posterior means), and its mean error
under the training loss is compared with that of the loss's best constant image on the same sample
(:mod:`overlapvae.analysis.baselines`: a decoder that ignores its code can do no better). The ratio
``error / constant error`` is logged as ``health/ratio``; a run whose final ratio is above
``1 − margin`` is **collapsed**: its reconstructions are no better than an image that ignores the
data, so its disentanglement scores measure a model that learnt nothing. A periodic check above
that line is logged as a warning at once, so a collapsing run says so early.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor

from overlapvae.analysis.baselines import cached_constant_baseline, constant_errors, render_sample
from overlapvae.runs.record import Health
from overlapvae.utils.validation import InvalidInputError

log = logging.getLogger(__name__)

#: Images reconstructed per forward pass of a check.
CHECK_BATCH = 256


class ReconstructionHealth(Callback):
    """The health check (see the module docstring); ``summary()`` is the record for ``metrics.json``."""

    def __init__(
        self,
        every_n_steps: int = 500,
        num_images: int = 1024,
        margin: float = 0.1,
        seed: int = 7777,
        cache_dir: str | Path | None = None,
    ) -> None:
        if min(every_n_steps, num_images) < 1:
            raise InvalidInputError(
                f"every_n_steps={every_n_steps}, num_images={num_images} is invalid: choose integers >= 1"
            )
        if not 0.0 <= margin < 1.0:
            raise InvalidInputError(f"margin={margin} is invalid: choose a fraction in [0, 1), e.g. 0.1")
        self.every_n_steps = every_n_steps
        self.num_images = num_images
        self.margin = margin
        self.seed = seed
        self.cache_dir = cache_dir
        self.history: list[dict[str, float]] = []
        self._images: Tensor | None = None
        self._constant_error: float | None = None

    def _prepare(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        """The check's sample on the model's device and the constant image's error on it."""
        datamodule = trainer.datamodule
        data, standardise, loss = datamodule.data, datamodule.standardise, module.recon_loss
        baseline = cached_constant_baseline(data, loss, standardise, self.cache_dir)
        generator = torch.Generator().manual_seed(self.seed)
        self._images = render_sample(data, self.num_images, standardise, generator).to(module.device)
        constant = baseline.image.to(module.device)
        self._constant_error = float(constant_errors(loss, constant, self._images).double().mean())

    @torch.no_grad()
    def check(self, trainer: L.Trainer, module: L.LightningModule) -> dict[str, float]:
        """Measure the model at the current step, log it, and warn when it is no better than the
        constant image."""
        if self._images is None:
            self._prepare(trainer, module)
        was_training = module.training
        module.eval()
        try:
            errors = torch.cat(
                [module.reconstruction_errors(part) for part in self._images.split(CHECK_BATCH)]
            )
        finally:
            module.train(was_training)
        error = float(errors.double().mean())
        ratio = error / self._constant_error if self._constant_error > 0 else float("nan")
        row = {
            "step": trainer.global_step,
            "error": error,
            "constant_error": self._constant_error,
            "ratio": ratio,
        }
        self.history.append(row)
        for logger in trainer.loggers:
            logger.log_metrics({"health/error": error, "health/ratio": ratio}, step=trainer.global_step)
        if self.is_collapsed(ratio):
            log.warning(
                "step %d: the reconstruction error %.4g is not yet better than the best constant image's "
                "%.4g (ratio %.3f > %.2f): the decoder is not (yet) using its code",
                trainer.global_step,
                error,
                self._constant_error,
                ratio,
                1.0 - self.margin,
            )
        return row

    def is_collapsed(self, ratio: float) -> bool:
        return not ratio <= 1.0 - self.margin

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        step = trainer.global_step
        if step > 0 and step % self.every_n_steps == 0 and trainer.is_global_zero:
            self.check(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.interrupted:
            return
        if not self.history or self.history[-1]["step"] != trainer.global_step:
            self.check(trainer, pl_module)
        final = self.history[-1]
        if self.is_collapsed(final["ratio"]):
            log.warning(
                "the run collapsed: after %d steps its reconstructions are no better than the best "
                "constant image (ratio %.3f); its disentanglement scores measure a model that learnt nothing",
                final["step"],
                final["ratio"],
            )

    def summary(self) -> Health:
        """The record for ``metrics.json``: ``collapsed`` (``None`` before any check), the last
        check's ``step``, ``error``, ``constant_error`` and ``ratio``, the ``margin`` and the history."""
        last = self.history[-1] if self.history else {}
        collapsed = self.is_collapsed(last["ratio"]) if last else None
        return Health(
            collapsed=collapsed,
            margin=self.margin,
            history=self.history,
            **{key: last.get(key) for key in ("step", "error", "constant_error", "ratio")},
        )

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict["history"])
