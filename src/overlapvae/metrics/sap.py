"""SAP score (Kumar et al. 2018) as disentanglement_lib computes it (``evaluation/metrics/sap_score.py``):
score every (code, factor) pair by how well the single code predicts the factor, then average
over factors the gap between the two best codes."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from overlapvae.metrics.base import TrainTestMetric
from overlapvae.metrics.sampling import check_codes, check_codes_and_factors
from overlapvae.utils.validation import InvalidInputError


def continuous_score_matrix(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """``[C, F]`` squared correlations ``cov² / (var_z var_y)`` (0 where ``var_z <= 1e-12``)."""
    code_dev = codes - codes.mean(axis=0)
    factor_dev = factors - factors.mean(axis=0)
    n = codes.shape[0] - 1
    covariance = code_dev.T @ factor_dev / n
    code_var, factor_var = (code_dev**2).sum(axis=0) / n, (factor_dev**2).sum(axis=0) / n
    denominator = code_var[:, None] * factor_var[None, :]
    varies = np.broadcast_to(code_var[:, None] > 1e-12, denominator.shape)
    return np.divide(covariance**2, denominator, out=np.zeros_like(denominator), where=varies)


def discrete_score_matrix(
    train_codes: np.ndarray,
    train_factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """``[C, F]`` test accuracies of ``LinearSVC(C=0.01, class_weight="balanced")`` on one code.

    The primal solver is used: it reaches the same (unique, strictly convex) optimum as the
    dual solver of the reference, and converges on a single feature.
    """
    num_codes, num_factors = train_codes.shape[1], train_factors.shape[1]
    seeds = rng.integers(0, 2**31 - 1, size=(num_codes, num_factors))
    scores = np.zeros((num_codes, num_factors))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i in range(num_codes):
            for j in range(num_factors):
                classifier = LinearSVC(
                    C=0.01, class_weight="balanced", dual=False, random_state=int(seeds[i, j])
                )
                classifier.fit(train_codes[:, i : i + 1], train_factors[:, j])
                prediction = classifier.predict(test_codes[:, i : i + 1])
                scores[i, j] = np.mean(prediction == test_factors[:, j])
    return scores


def gap_of_top_two(scores: np.ndarray) -> float:
    """Mean over factors (columns) of the best minus the second-best score."""
    ordered = np.sort(scores, axis=0)
    return float(np.mean(ordered[-1] - ordered[-2]))


def sap_score(
    train_codes: np.ndarray,
    train_factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    rng: np.random.Generator,
    continuous_factors: bool = False,
) -> dict[str, float]:
    """``sap_score``: discrete factors use held-out classifier accuracy, continuous ones the
    squared correlation on the training points (as the reference)."""
    train_codes, train_factors = check_codes_and_factors(train_codes, train_factors, "train codes")
    if train_codes.shape[1] < 2:
        raise InvalidInputError(
            f"SAP needs at least 2 code dimensions to take a gap, got {train_codes.shape[1]}"
        )
    if continuous_factors:
        scores = continuous_score_matrix(train_codes, train_factors.astype(np.float64))
    else:
        test_codes = check_codes(test_codes, "test codes", min_points=1)
        test_factors = np.asarray(test_factors)
        if test_codes.shape[0] != test_factors.shape[0]:
            raise InvalidInputError(
                f"test codes and test factors differ in length: {test_codes.shape[0]} against "
                f"{test_factors.shape[0]}"
            )
        scores = discrete_score_matrix(train_codes, train_factors, test_codes, test_factors, rng)
    return {"sap_score": gap_of_top_two(scores)}


@dataclass
class SAP(TrainTestMetric):
    """SAP on ``num_train`` + ``num_test`` sampled points (reference: 10,000 / 5,000, discrete)."""

    continuous_factors: bool = False

    def score(
        self,
        train_codes: np.ndarray,
        train_factors: np.ndarray,
        test_codes: np.ndarray,
        test_factors: np.ndarray,
        rng: np.random.Generator,
    ) -> dict[str, float]:
        return sap_score(train_codes, train_factors, test_codes, test_factors, rng, self.continuous_factors)
