"""Pixel-wise reconstruction losses L_rec(x̂, x) with an explicit reduction.

The paper trains with MSE; L1 and BCE are the usual alternatives (disent's ``mae`` and ``bce``).

``x̂`` is the raw decoder output and ``x`` the target batch. Each loss also owns the activation that
maps raw decoder outputs to images (identity for MSE/L1, sigmoid for BCE-with-logits), so a
framework never needs to know which loss it trains with.
"""

from __future__ import annotations

from abc import abstractmethod

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from overlapvae.losses.reduction import check_reduction, reduce

#: Largest logit magnitude BCE distances use for saturated pixels (torch's log clamp of −100).
LOGIT_LIMIT = 100.0


class ReconstructionLoss(nn.Module):
    """Base class: ``elementwise`` gives per-element losses, ``forward`` reduces them."""

    #: Whether targets must lie in [0, 1] (so the data must not be standardised).
    requires_unit_interval_targets: bool = False
    #: Whether ``elementwise(x̂, x)`` is a function of ``x̂ − x`` alone (then a linear filter of
    #: both arguments can be applied once, to the difference).
    depends_on_difference: bool = False

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction

    @abstractmethod
    def elementwise(self, reconstruction: Tensor, target: Tensor) -> Tensor:
        """Per-element loss with the shape of ``target``."""

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
            raise ValueError(f"expected two equal shapes [..., C, H, W], got {shapes}")
        return self.elementwise(self.as_reconstruction(images), targets).mean(dim=(-3, -2, -1))

    def euclidean_embedding(self, images: Tensor) -> Tensor | None:
        """Images ``[..., C, H, W]`` mapped to ``[..., C', H, W]`` such that ``distance(a, b)`` is the
        squared ℓ2 distance between the embeddings of ``a`` and ``b`` divided by C·H·W; ``None`` when
        this loss is not of that form. With an embedding, all pairs of ``f`` images cost one
        embedding per image and an ``f × f`` Gram matrix instead of ``f(f − 1)/2`` differences."""
        return None

    def forward(self, reconstruction: Tensor, target: Tensor) -> Tensor:
        if reconstruction.shape != target.shape:
            raise ValueError(
                f"reconstruction shape {tuple(reconstruction.shape)} differs from "
                f"target shape {tuple(target.shape)}"
            )
        return reduce(self.elementwise(reconstruction, target), self.reduction)


class MSELoss(ReconstructionLoss):
    """Squared error ``(x̂ − x)²``, the paper's loss."""

    depends_on_difference = True

    def elementwise(self, reconstruction: Tensor, target: Tensor) -> Tensor:
        return (reconstruction - target).square()

    def euclidean_embedding(self, images: Tensor) -> Tensor:
        """The images themselves: mean((a − b)²) = ‖a − b‖² / (C·H·W)."""
        return images


class L1Loss(ReconstructionLoss):
    """Absolute error ``|x̂ − x|``."""

    depends_on_difference = True

    def elementwise(self, reconstruction: Tensor, target: Tensor) -> Tensor:
        return (reconstruction - target).abs()


class BCEWithLogitsLoss(ReconstructionLoss):
    """Binary cross-entropy of ``sigmoid(x̂)`` against targets in [0, 1] (disent's ``bce``)."""

    requires_unit_interval_targets = True

    def elementwise(self, reconstruction: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(reconstruction, target, reduction="none")

    def activate(self, reconstruction: Tensor) -> Tensor:
        return torch.sigmoid(reconstruction)

    def as_reconstruction(self, images: Tensor) -> Tensor:
        """Logits of ``images``, clamped to ±100 so that a 0 or 1 pixel costs at most 100 nats,
        as ``torch.nn.functional.binary_cross_entropy`` clamps its logarithms."""
        return torch.logit(images).clamp(-LOGIT_LIMIT, LOGIT_LIMIT)
