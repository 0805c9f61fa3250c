"""Pixel-wise reconstruction losses L_rec(x̂, x) with an explicit reduction and scale.

The paper trains with MSE; L1 and BCE are the usual alternatives (disent's ``mae`` and ``bce``).

``x̂`` is the raw decoder output and ``x`` the target batch. Each loss also owns the activation that
maps raw decoder outputs to images (identity for MSE/L1, sigmoid for BCE-with-logits), so a
framework never needs to know which loss it trains with, and the image that predicts a sample of
targets best when it ignores them (:meth:`ReconstructionLoss.best_constant`), against which a run's
reconstructions are judged.

The training term is ``effective_scale · reduce(elementwise(x̂, x))``. ``scale`` is the weight set
in config (default 1); with ``match_scale`` it is multiplied by a factor measured on the training
data (``data_scale``, set before training by the app: the factor that gives random pairs of
observations the same mean distance under this loss as under MSE). Perceived distances
(:meth:`ReconstructionLoss.distance`) are the loss's per-element values without the scale.

**Smoothed start.** A per-element penalty with a kink at zero error (L1's |e|) pushes every wrong
value back equally hard, however small its error. On sparse data (XYSquares: 98.4 % of values are
background) a decoder then cannot grow anything: each bump it raises over a square's pixels also
rises over more background pixels, which push back as hard as the square's pull, and it ends at the
constant background image (``benchmarks/l1_collapse.py``). So the first ``smoothing_steps`` steps
train on the kink smoothed over a radius δ that falls linearly from the data's value range
(``smoothing_start``, set by the app before training; every error is then in the smooth part) to 0:
the expected penalty of an error jittered by uniform noise on ``[−δ, δ]`` (randomised smoothing,
Duchi et al. 2012), ``(e² + δ²)/(2δ)`` for |e| < δ and |e| beyond, with Huber's gradient. After
that the loss is exact. Losses smooth at zero error (MSE, BCE, a kernel loss with an MSE base, the
calibrated Gaussian) have no kink and train unchanged at every step; distances, health checks and
audits always use the exact loss.
"""

from __future__ import annotations

import hashlib
import math
from abc import abstractmethod
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from overlapvae.losses.reduction import Reduction, check_reduction, reduce
from overlapvae.utils.validation import InvalidInputError

#: Settings of the training term that leave the exact per-element values alone (its weight and its
#: smoothed start).
TRAINING_SETTINGS = (
    "training",
    "scale",
    "match_scale",
    "data_scale",
    "smoothing_steps",
    "smoothing_start",
    "smoothing",
)
#: Largest logit magnitude BCE distances use for saturated pixels (torch's log clamp of −100).
LOGIT_LIMIT = 100.0


class ReconstructionLoss(nn.Module):
    """Base class: ``elementwise`` gives per-element losses, ``forward`` reduces them."""

    #: Whether targets must lie in [0, 1] (so the data must not be standardised).
    requires_unit_interval_targets: bool = False
    #: Whether ``elementwise(x̂, x)`` is a function of ``x̂ − x`` alone (then a linear filter of
    #: both arguments can be applied once, to the difference).
    depends_on_difference: bool = False
    #: Whether the per-element penalty has a kink at zero error (then its start is smoothed).
    has_kink: bool = False

    def __init__(
        self,
        reduction: Reduction = "mean",
        scale: float = 1.0,
        match_scale: bool = False,
        smoothing_steps: int = 500,
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        if not (math.isfinite(scale) and scale > 0):
            raise InvalidInputError(
                f"scale={scale} is invalid: choose a positive number (1 keeps the loss as it is)"
            )
        if smoothing_steps < 0:
            raise InvalidInputError(
                f"smoothing_steps={smoothing_steps} is invalid: choose an integer >= 0 (0: none)"
            )
        self.reduction = reduction
        self.scale = float(scale)
        self.match_scale = match_scale
        self.smoothing_steps = smoothing_steps
        #: The factor measured on the training data when ``match_scale`` (1 until it is set).
        self.data_scale = 1.0
        #: The smoothing radius at step 0 (the data's value range, set by the app) and the
        #: current one, which the framework sets before each training step.
        self.smoothing_start = 0.0
        self.smoothing = 0.0

    @property
    def smooths_its_start(self) -> bool:
        """Whether training starts on a smoothed kink (a kink and ``smoothing_steps > 0``)."""
        return self.has_kink and self.smoothing_steps > 0

    def smoothing_at(self, step: int) -> float:
        """The smoothing radius at training step ``step``: ``smoothing_start`` falling linearly to 0
        at ``smoothing_steps`` (always 0 for a loss without a kink)."""
        if not self.smooths_its_start:
            return 0.0
        return self.smoothing_start * max(0.0, 1.0 - step / self.smoothing_steps)

    @property
    def effective_scale(self) -> float:
        """The weight on the reconstruction term: ``scale · data_scale``."""
        return self.scale * self.data_scale

    def fingerprint(self) -> dict[str, Any]:
        """What fixes this loss's per-element values, its scale aside: the class and plain settings
        of it and each of its parts, and a digest of every buffer (a kernel). Keys the measurements
        cached per loss."""
        parts = {}
        for name, module in self.named_modules():
            settings = {
                key: value
                for key, value in vars(module).items()
                if isinstance(value, int | float | str | bool)
                and not key.startswith("_")
                and key not in TRAINING_SETTINGS
            }
            parts[name or "."] = {"class": type(module).__qualname__, **settings}
        buffers = {
            name: hashlib.sha256(buffer.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
            for name, buffer in self.named_buffers()
        }
        return {"modules": parts, "buffers": buffers}

    @abstractmethod
    def elementwise(self, reconstruction: Tensor, target: Tensor, smoothing: float = 0.0) -> Tensor:
        """Per-element loss with the shape of ``target``; a kink at zero error is smoothed over
        ``smoothing`` (the radius δ; 0: the exact loss)."""

    def activate(self, reconstruction: Tensor) -> Tensor:
        """Map raw decoder outputs to images on the scale of the targets."""
        return reconstruction

    def as_reconstruction(self, images: Tensor) -> Tensor:
        """The raw decoder output whose activation is ``images`` (the inverse of ``activate``)."""
        return images

    def distance(self, images: Tensor, targets: Tensor) -> Tensor:
        """The perceived distance d_pcv of the paper's §4: this loss between ``images`` taken as a
        reconstruction and ``targets``, a mean over each image's C·H·W elements;
        ``[..., C, H, W] → [...]`` (views of any stride are fine)."""
        if images.shape != targets.shape or images.ndim < 3:
            shapes = f"{tuple(images.shape)} and {tuple(targets.shape)}"
            raise InvalidInputError(f"expected two equal shapes [..., C, H, W], got {shapes}")
        return self.elementwise(self.as_reconstruction(images), targets).mean(dim=(-3, -2, -1))

    def sample_errors(self, reconstruction: Tensor, target: Tensor) -> Tensor:
        """Each sample's mean per-element loss ``[B]`` from raw outputs, without the scale: the error
        the run health check compares with the best constant image's."""
        return self.elementwise(reconstruction, target).mean(dim=(-3, -2, -1))

    @abstractmethod
    def best_constant(self, targets: Tensor) -> Tensor:
        """The raw output ``[C, H, W]`` that minimises the mean loss over ``targets [N, C, H, W]``
        when the same output is given for every target: the loss of a decoder that ignores its code."""

    def euclidean_embedding(self, images: Tensor) -> Tensor | None:
        """Images ``[..., C, H, W]`` mapped to ``[..., C', H, W]`` such that ``distance(a, b)`` is the
        squared ℓ2 distance between the embeddings of ``a`` and ``b`` divided by C·H·W; ``None`` when
        this loss is not of that form. With an embedding, all pairs of ``f`` images cost one
        embedding per image and an ``f × f`` Gram matrix instead of ``f(f − 1)/2`` differences."""
        return None

    def forward(self, reconstruction: Tensor, target: Tensor) -> Tensor:
        """The training term: ``effective_scale`` times the reduced per-element loss, its kink
        smoothed over the current ``smoothing`` radius."""
        if reconstruction.shape != target.shape:
            raise InvalidInputError(
                f"reconstruction shape {tuple(reconstruction.shape)} differs from "
                f"target shape {tuple(target.shape)}"
            )
        values = self.elementwise(reconstruction, target, self.smoothing)
        return self.effective_scale * reduce(values, self.reduction)


class MSELoss(ReconstructionLoss):
    """Squared error ``(x̂ − x)²``, the paper's loss."""

    depends_on_difference = True

    def elementwise(self, reconstruction: Tensor, target: Tensor, smoothing: float = 0.0) -> Tensor:
        return (reconstruction - target).square()

    def euclidean_embedding(self, images: Tensor) -> Tensor:
        """The images themselves: mean((a − b)²) = ‖a − b‖² / (C·H·W)."""
        return images

    def best_constant(self, targets: Tensor) -> Tensor:
        """The per-pixel mean; its loss is the per-pixel variance."""
        return targets.mean(dim=0)


class L1Loss(ReconstructionLoss):
    """Absolute error ``|x̂ − x|``."""

    depends_on_difference = True
    has_kink = True

    def elementwise(self, reconstruction: Tensor, target: Tensor, smoothing: float = 0.0) -> Tensor:
        """``|e|``, or with a radius δ > 0 its randomised smoothing: ``(e² + δ²)/(2δ)`` below δ."""
        errors = (reconstruction - target).abs()
        if smoothing <= 0.0:
            return errors
        return torch.where(errors < smoothing, (errors.square() + smoothing**2) / (2.0 * smoothing), errors)

    def best_constant(self, targets: Tensor) -> Tensor:
        """The per-pixel median (the lower one for an even count: every value between the two middle
        ones costs the same); its loss is the mean absolute deviation from the median."""
        return targets.median(dim=0).values


class BCEWithLogitsLoss(ReconstructionLoss):
    """Binary cross-entropy of ``sigmoid(x̂)`` against targets in [0, 1] (disent's ``bce``)."""

    requires_unit_interval_targets = True

    def elementwise(self, reconstruction: Tensor, target: Tensor, smoothing: float = 0.0) -> Tensor:
        return F.binary_cross_entropy_with_logits(reconstruction, target, reduction="none")

    def activate(self, reconstruction: Tensor) -> Tensor:
        return torch.sigmoid(reconstruction)

    def best_constant(self, targets: Tensor) -> Tensor:
        """Logits of the per-pixel mean: the cross-entropy of a constant is least at the mean."""
        return self.as_reconstruction(targets.mean(dim=0))

    def as_reconstruction(self, images: Tensor) -> Tensor:
        """Logits of ``images``, clamped to ±100 so that a 0 or 1 pixel costs at most 100 nats,
        as ``torch.nn.functional.binary_cross_entropy`` clamps its logarithms."""
        return torch.logit(images).clamp(-LOGIT_LIMIT, LOGIT_LIMIT)
