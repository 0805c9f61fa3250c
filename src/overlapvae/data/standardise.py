"""Per-channel input standardisation (the paper's Table A2): uint8 ÷ 255, then (x − mean) / std."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from overlapvae.utils.validation import InvalidInputError


def standardise_coefficients(
    mean: Sequence[float], std: Sequence[float], device: torch.device | str | None = None
) -> tuple[Tensor, Tensor]:
    """Return ``(scale, shift)`` with ``standardised = uint8 · scale + shift``, each ``float32 [C]``."""
    mean_t = torch.as_tensor(mean, dtype=torch.float64, device=device)
    std_t = torch.as_tensor(std, dtype=torch.float64, device=device)
    if mean_t.shape != std_t.shape or mean_t.ndim != 1:
        raise InvalidInputError(f"mean and std must be equal-length sequences, got {list(mean)} and {list(std)}")
    if bool((std_t <= 0).any()):
        raise InvalidInputError(f"every std must be positive, got {list(std)}")
    return (1.0 / (255.0 * std_t)).float(), (-mean_t / std_t).float()


def apply_standardisation(images: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """``uint8 [B, C, H, W] · scale + shift`` as ``float32``, in one fused pass."""
    if images.dtype != torch.uint8:
        raise TypeError(f"standardisation expects uint8 images, got {images.dtype}")
    return torch.addcmul(shift.view(-1, 1, 1), images, scale.view(-1, 1, 1))


def standardise(images: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """Map ``uint8 [B, C, H, W]`` images to standardised ``float32``."""
    return apply_standardisation(images, *standardise_coefficients(mean, std, images.device))


def destandardise(images: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """Inverse of :func:`standardise`, returning ``float32`` images on the [0, 1] scale."""
    mean_t = torch.as_tensor(mean, dtype=images.dtype, device=images.device).view(-1, 1, 1)
    std_t = torch.as_tensor(std, dtype=images.dtype, device=images.device).view(-1, 1, 1)
    return images * std_t + mean_t
