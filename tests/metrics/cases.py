"""Representations and a tiny data set with known structure for the metric tests."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from overlapvae.data.base import GroundTruthData

SIZES = (8, 8, 8, 8, 8, 8)


def identity(factors: np.ndarray) -> np.ndarray:
    return factors.astype(np.float64)


def permuted_rescaled(factors: np.ndarray) -> np.ndarray:
    """Each code is one factor, in another order, scaled (sign included) and shifted."""
    order, scale = np.array([3, 0, 5, 1, 4, 2]), np.array([2.0, -0.5, 3.0, 1.0, 0.1, 7.0])
    return factors[:, order] * scale + 1.0


def noise(seed: int = 5):
    """Codes independent of the factors."""
    rng = np.random.default_rng(seed)
    return lambda factors: rng.normal(size=(len(factors), len(SIZES)))


class Bars(GroundTruthData):
    """A 48-observation data set: a bar at one of (4, 3, 4) positions in three channels of 4×4."""

    factor_names = ("red", "green", "blue")
    factor_sizes = (4, 3, 4)
    image_shape = (3, 4, 4)
    mean = (0.25, 0.25, 0.25)
    std = (0.5, 0.5, 0.5)

    def render(self, factors: Tensor) -> Tensor:
        rows = torch.arange(4, device=factors.device)
        bars = (rows[None, None, :] == factors[:, :, None]).to(torch.uint8) * 255  # [B, 3, 4]
        return bars[:, :, :, None].expand(-1, -1, -1, 4).contiguous()


class LinearEncoder(torch.nn.Module):
    """A fixed random linear posterior: mean and log-variance of 4 latents."""

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.weight = torch.nn.Parameter(torch.randn(48, 8, generator=generator) * 0.3)

    def posterior(self, images: Tensor) -> tuple[Tensor, Tensor]:
        mean, log_variance = (images.flatten(1) @ self.weight).chunk(2, dim=1)
        return mean, log_variance
