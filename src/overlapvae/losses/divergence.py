"""Diagonal-Gaussian densities and the KL to the standard-normal prior (Kingma & Welling 2014)."""

from __future__ import annotations

import math

from torch import Tensor

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_density(z: Tensor, mean: Tensor, log_variance: Tensor) -> Tensor:
    """Element-wise ``log N(z; mean, exp(log_variance))`` (broadcasting)."""
    return -0.5 * (LOG_2PI + log_variance + (z - mean).square() * (-log_variance).exp())


def kl_to_standard_normal(mean: Tensor, log_variance: Tensor) -> Tensor:
    """Element-wise ``KL(N(mean, σ²) ‖ N(0, 1)) = ½(mean² + σ² − 1 − log σ²)``."""
    return 0.5 * (mean.square() + log_variance.exp() - 1.0 - log_variance)


def symmetric_gaussian_kl(
    mean_a: Tensor, log_variance_a: Tensor, mean_b: Tensor, log_variance_b: Tensor
) -> Tensor:
    """Element-wise ``½KL(a‖b) + ½KL(b‖a)`` of univariate Gaussians; the log terms cancel:
    ``¼[(σ_a² + Δμ²)/σ_b² + (σ_b² + Δμ²)/σ_a² − 2]``."""
    variance_a, variance_b = log_variance_a.exp(), log_variance_b.exp()
    difference = (mean_a - mean_b).square()
    return 0.25 * ((variance_a + difference) / variance_b + (variance_b + difference) / variance_a - 2.0)
