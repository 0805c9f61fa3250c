"""Mutual Information Gap (Chen et al. 2018) with disentanglement_lib's histogram estimator
(``evaluation/metrics/mig.py``): per factor, the gap between the two largest mutual informations
with any code dimension, divided by the factor's entropy, averaged over factors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from overlapvae.metrics.base import HistogramMetric
from overlapvae.metrics.discrete import discrete_entropy, discrete_mutual_info, histogram_discretise
from overlapvae.metrics.sampling import check_codes_and_factors
from overlapvae.utils.validation import InvalidInputError


def mutual_information_gap(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> dict[str, float]:
    """``discrete_mig`` of codes ``[N, C]`` against integer factors ``[N, F]``."""
    codes, factors = check_codes_and_factors(codes, factors)
    if codes.shape[1] < 2:
        raise InvalidInputError(f"MIG needs at least 2 code dimensions to take a gap, got {codes.shape[1]}")
    information = discrete_mutual_info(histogram_discretise(codes, num_bins), factors)
    top = np.sort(information, axis=0)[::-1]
    return {"discrete_mig": float(np.mean((top[0] - top[1]) / discrete_entropy(factors)))}


@dataclass
class MIG(HistogramMetric):
    """MIG on ``num_train`` uniformly sampled points (reference: 10,000 points, 20 bins)."""

    def score(self, codes: np.ndarray, factors: np.ndarray) -> dict[str, float]:
        return mutual_information_gap(codes, factors, self.num_bins)
