"""Unsupervised scores of the codes alone, as disentanglement_lib computes them
(``evaluation/metrics/unsupervised_metrics.py``): the total correlation and Wasserstein
dependency of a Gaussian fitted to the codes, and the mean pairwise mutual information of the
histogram-discretised code dimensions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.linalg

from overlapvae.metrics.base import HistogramMetric
from overlapvae.metrics.discrete import discrete_mutual_info, histogram_discretise
from overlapvae.metrics.sampling import check_codes
from overlapvae.utils.validation import InvalidInputError


def gaussian_total_correlation(covariance: np.ndarray) -> float:
    """KL between ``N(0, Σ)`` and ``N(0, diag Σ)``: ``½ (Σ_i log Σ_ii − log det Σ)``."""
    return float(0.5 * (np.sum(np.log(np.diag(covariance))) - np.linalg.slogdet(covariance)[1]))


def gaussian_wasserstein_correlation(covariance: np.ndarray) -> float:
    """Squared 2-Wasserstein distance between ``N(0, Σ)`` and ``N(0, diag Σ)``:
    ``2 tr Σ − 2 tr (Σ diag Σ)^½``."""
    root = scipy.linalg.sqrtm(covariance * np.diag(covariance)[:, None])
    return float(2 * np.trace(covariance) - 2 * np.trace(root).real)


def unsupervised_scores(codes: np.ndarray, num_bins: int = 20) -> dict[str, float]:
    """Gaussian total correlation, Wasserstein correlation (raw and divided by ``tr Σ``) and the
    mean off-diagonal mutual information (nats) between discretised code dimensions."""
    codes = check_codes(codes, min_points=3)
    if codes.shape[1] < 2:
        raise InvalidInputError(f"these scores relate code dimensions: need at least 2, got {codes.shape[1]}")
    covariance = np.cov(codes, rowvar=False)
    wasserstein = gaussian_wasserstein_correlation(covariance)
    information = discrete_mutual_info(*(histogram_discretise(codes, num_bins),) * 2)
    np.fill_diagonal(information, 0.0)
    num_codes = codes.shape[1]
    return {
        "gaussian_total_correlation": gaussian_total_correlation(covariance),
        "gaussian_wasserstein_correlation": wasserstein,
        "gaussian_wasserstein_correlation_norm": wasserstein / float(np.trace(covariance)),
        "mean_pairwise_mutual_info": float(information.sum() / (num_codes**2 - num_codes)),
    }


@dataclass
class Unsupervised(HistogramMetric):
    """The unsupervised scores on ``num_train`` sampled points (reference: 10,000, 20 bins)."""

    min_points: ClassVar[int] = 3

    def score(self, codes: np.ndarray, factors: np.ndarray) -> dict[str, float]:
        return unsupervised_scores(codes, self.num_bins)
