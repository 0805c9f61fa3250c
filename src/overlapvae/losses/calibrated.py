"""Calibrated decoders (Rybkin, Daniilidis & Levine 2021, "Simple and effective VAE training with
calibrated decoders", the σ-VAE): the negative log-likelihood of a decoder whose one shared scale is
set to its optimum for the batch instead of being fixed.

- ``base: mse`` — a Gaussian with shared variance σ². Per element ``(x̂ − x)²/(2σ²) + ½ log σ²``
  (up to ½ log 2π); its optimum is σ² = MSE, so the mean over the batch is ``½ log MSE + ½``.
- ``base: l1`` — its Laplace counterpart with shared scale b. Per element ``|x̂ − x|/b + log b``
  (up to log 2); the optimum is b = the mean absolute error, so the mean is ``log MAE + 1``.

The optimum is taken over every element the loss reduces (the whole batch) and treated as a
constant: at the optimum the derivative through it is 0, so the gradient is the base loss's divided
by (twice, for the Gaussian) the current error, ``∇MSE / (2·MSE)`` or ``∇MAE / MAE``: the
reconstruction term weighs more against the KL the better the decoder reconstructs. The error is
floored at ``min_error`` (the σ-VAE clips log σ likewise), so a perfect reconstruction stays finite.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor

from overlapvae.losses.reconstruction import L1Loss, MSELoss, ReconstructionLoss
from overlapvae.losses.reduction import Reduction
from overlapvae.utils.validation import InvalidInputError, check_choice

CalibratedBase = Literal["mse", "l1"]
#: The likelihood behind each base loss and the factor of its log-scale term (½ log σ², log b).
CALIBRATED_BASES: dict[str, tuple[type[ReconstructionLoss], float]] = {
    "mse": (MSELoss, 0.5),
    "l1": (L1Loss, 1.0),
}


class CalibratedLoss(ReconstructionLoss):
    """The Gaussian (``base: mse``) or Laplace (``base: l1``) likelihood at its optimal shared scale."""

    def __init__(
        self,
        base: CalibratedBase = "mse",
        min_error: float = 1e-6,
        reduction: Reduction = "mean",
        scale: float = 1.0,
        match_scale: bool = False,
        smoothing_steps: int = 500,
    ) -> None:
        super().__init__(reduction, scale, match_scale, smoothing_steps)
        check_choice("base", base, CALIBRATED_BASES)
        if not min_error > 0:
            raise InvalidInputError(f"min_error={min_error} is invalid: choose a positive number, e.g. 1e-6")
        base_class, self.coefficient = CALIBRATED_BASES[base]
        self.base = base_class()
        self.min_error = float(min_error)
        self.has_kink = self.base.has_kink

    def optimal_scale(self, errors: Tensor) -> Tensor:
        """σ² (Gaussian) or b (Laplace) at its optimum for per-element base ``errors``: their mean,
        floored at ``min_error``, as a constant of the graph."""
        return errors.detach().mean().clamp(min=self.min_error)

    def elementwise(self, reconstruction: Tensor, target: Tensor, smoothing: float = 0.0) -> Tensor:
        """``c · (e/s + log s)`` per element, with base errors e (smoothed like the base loss), their
        shared optimum s and c = ½ (Gaussian) or 1 (Laplace): every element of the call shares one scale."""
        errors = self.base.elementwise(reconstruction, target, smoothing)
        optimum = self.optimal_scale(errors)
        return self.coefficient * (errors / optimum + optimum.log())

    def distance(self, images: Tensor, targets: Tensor) -> Tensor:
        """The pair's negative log-likelihood at the scale optimal for that pair, less that of two
        identical images (whose scale is the floor m): with the pair's mean base error e,
        ``c·e/m`` for e ≤ m and ``c·(1 + log(e/m))`` above. Non-negative, 0 for identical images and
        increasing in e, so it orders pairs exactly as the base loss does."""
        ratio = self.base.distance(images, targets) / self.min_error
        return self.coefficient * ratio.where(ratio <= 1.0, 1.0 + ratio.clamp(min=1.0).log())

    def sample_errors(self, reconstruction: Tensor, target: Tensor) -> Tensor:
        """The base loss's errors: the likelihood's log is no error to compare with a constant image's."""
        return self.base.sample_errors(reconstruction, target)

    def best_constant(self, targets: Tensor) -> Tensor:
        """The base loss's: the likelihood at its optimal scale is increasing in the base error."""
        return self.base.best_constant(targets)
