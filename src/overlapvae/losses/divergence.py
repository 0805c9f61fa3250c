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
