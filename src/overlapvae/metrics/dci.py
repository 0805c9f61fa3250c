"""DCI (Eastwood & Williams 2018) as disentanglement_lib computes it (``evaluation/metrics/dci.py``).

One ``GradientBoostingClassifier`` with library defaults per factor predicts the factor from all
codes; the absolute feature importances form the matrix ``R [num_codes, num_factors]``.
Disentanglement weights ``1 - H_F(R_i·)`` by each code's share of the importance; completeness
weights ``1 - H_C(R_·j)`` by each factor's share. Informativeness is the mean classification
*accuracy* over factors (the reference names it ``informativeness_train/test``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats
from joblib import Parallel, delayed
from sklearn.ensemble import GradientBoostingClassifier

from overlapvae.metrics.base import TrainTestMetric
from overlapvae.metrics.sampling import check_codes, check_codes_and_factors
from overlapvae.utils.validation import InvalidInputError


def disentanglement_per_code(importance: np.ndarray) -> np.ndarray:
    """``1 - H(R_i·)`` per code, entropy in base ``num_factors`` (+1e-11, as the reference)."""
    return 1.0 - scipy.stats.entropy(importance.T + 1e-11, base=importance.shape[1])


def disentanglement(importance: np.ndarray) -> float:
    """Importance-weighted mean of ``disentanglement_per_code``; an all-zero matrix counts as uniform."""
    per_code = disentanglement_per_code(importance)
    if importance.sum() == 0.0:
        importance = np.ones_like(importance)
    return float(np.sum(per_code * importance.sum(axis=1) / importance.sum()))


def completeness_per_factor(importance: np.ndarray) -> np.ndarray:
    """``1 - H(R_·j)`` per factor, entropy in base ``num_codes`` (+1e-11, as the reference)."""
    return 1.0 - scipy.stats.entropy(importance + 1e-11, base=importance.shape[0])


def completeness(importance: np.ndarray) -> float:
    """Importance-weighted mean of ``completeness_per_factor``; an all-zero matrix counts as uniform."""
    per_factor = completeness_per_factor(importance)
    if importance.sum() == 0.0:
        importance = np.ones_like(importance)
    return float(np.sum(per_factor * importance.sum(axis=0) / importance.sum()))


def _fit_factor(
    train_codes: np.ndarray,
    train_labels: np.ndarray,
    test_codes: np.ndarray,
    test_labels: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, float, float]:
    model = GradientBoostingClassifier(random_state=seed).fit(train_codes, train_labels)
    train_accuracy = float(np.mean(model.predict(train_codes) == train_labels))
    test_accuracy = float(np.mean(model.predict(test_codes) == test_labels))
    return np.abs(model.feature_importances_), train_accuracy, test_accuracy


def gbt_importance(
    train_codes: np.ndarray,
    train_factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    rng: np.random.Generator,
    n_jobs: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Importance matrix ``[C, F]`` and per-factor train and test accuracies.

    The factors' classifiers are independent, so they are fitted on ``n_jobs`` threads (tree
    building releases the GIL); each gets its own seed from ``rng``, so results do not depend on
    ``n_jobs``.
    """
    seeds = rng.integers(0, 2**31 - 1, size=train_factors.shape[1])
    fits = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_fit_factor)(train_codes, train_factors[:, j], test_codes, test_factors[:, j], int(seeds[j]))
        for j in range(train_factors.shape[1])
    )
    importance = np.stack([fit[0] for fit in fits], axis=1)
    return importance, np.array([fit[1] for fit in fits]), np.array([fit[2] for fit in fits])


def dci_scores(
    train_codes: np.ndarray,
    train_factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    rng: np.random.Generator,
    n_jobs: int = 1,
) -> dict[str, float]:
    """Disentanglement, completeness and informativeness (accuracies) from train and test codes."""
    train_codes, train_factors = check_codes_and_factors(train_codes, train_factors, "train codes")
    test_codes = check_codes(test_codes, "test codes", min_points=1)
    test_factors = np.asarray(test_factors)
    if test_codes.shape[0] != test_factors.shape[0] or test_factors.shape[1:] != train_factors.shape[1:]:
        raise InvalidInputError(
            f"test codes {test_codes.shape} and test factors {test_factors.shape} do not match each "
            f"other or the training factors {train_factors.shape}"
        )
    if test_codes.shape[1] != train_codes.shape[1]:
        raise InvalidInputError(
            f"train codes have {train_codes.shape[1]} dims but test codes {test_codes.shape[1]}"
        )
    importance, train_accuracy, test_accuracy = gbt_importance(
        train_codes.astype(np.float32),
        train_factors,
        test_codes.astype(np.float32),
        test_factors,
        rng,
        n_jobs,
    )
    return {
        "disentanglement": disentanglement(importance),
        "completeness": completeness(importance),
        "informativeness_train_accuracy": float(train_accuracy.mean()),
        "informativeness_test_accuracy": float(test_accuracy.mean()),
    }


@dataclass
class DCI(TrainTestMetric):
    """DCI on ``num_train`` + ``num_test`` sampled points (reference: 10,000 / 5,000); the
    factors' classifiers are fitted on ``n_jobs`` threads (-1: every core)."""

    n_jobs: int = -1

    def score(
        self,
        train_codes: np.ndarray,
        train_factors: np.ndarray,
        test_codes: np.ndarray,
        test_factors: np.ndarray,
        rng: np.random.Generator,
    ) -> dict[str, float]:
        return dci_scores(train_codes, train_factors, test_codes, test_factors, rng, self.n_jobs)
