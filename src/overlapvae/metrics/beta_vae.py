"""β-VAE score (Higgins et al. 2017) as disentanglement_lib computes it
(``evaluation/metrics/beta_vae.py``, the sklearn variant), every training point drawn at once.

A point fixes one factor to equal values across two batches and takes the mean absolute
difference of their codes; a logistic regression predicts the fixed factor from it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from overlapvae.metrics.base import Metric
from overlapvae.metrics.sampling import Representation, check_codes, check_count, sample_factors
from overlapvae.utils.validation import InvalidInputError


def difference_points(
    representation: Representation,
    factor_sizes: Sequence[int],
    num_points: int,
    batch_size: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Features ``[num_points, C]`` (mean |z1 - z2| over a pair of batches) and fixed-factor labels."""
    fixed = rng.integers(0, len(factor_sizes), size=num_points)
    first = sample_factors(factor_sizes, num_points * batch_size, rng).reshape(num_points, batch_size, -1)
    second = sample_factors(factor_sizes, num_points * batch_size, rng).reshape(num_points, batch_size, -1)
    rows = np.arange(num_points)
    second[rows, :, fixed] = first[rows, :, fixed]
    both = np.concatenate([first, second]).reshape(2 * num_points * batch_size, -1)
    codes = check_codes(representation(both)).reshape(2, num_points, batch_size, -1)
    return np.abs(codes[0] - codes[1]).mean(axis=1), fixed


def check_sizes(batch_size: int, num_train: int, num_eval: int) -> None:
    """Reject sizes the score cannot use (a classifier needs two training points), naming the parameter."""
    check_count("batch_size", batch_size, 1)
    check_count("num_train", num_train, 2)
    check_count("num_eval", num_eval, 1)


def beta_vae_score(
    representation: Representation,
    factor_sizes: Sequence[int],
    rng: np.random.Generator,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
) -> dict[str, float]:
    """``train_accuracy`` and ``eval_accuracy`` of ``LogisticRegression()`` (library defaults)."""
    check_sizes(batch_size, num_train, num_eval)
    train_points, train_labels = difference_points(representation, factor_sizes, num_train, batch_size, rng)
    if np.unique(train_labels).size < 2:
        raise InvalidInputError(f"num_train={num_train} points drew a single factor: sample more points")
    model = LogisticRegression(random_state=int(rng.integers(0, 2**31 - 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the reference runs the defaults as they are
        model.fit(train_points, train_labels)
    eval_points, eval_labels = difference_points(representation, factor_sizes, num_eval, batch_size, rng)
    return {
        "train_accuracy": float(np.mean(model.predict(train_points) == train_labels)),
        "eval_accuracy": float(np.mean(model.predict(eval_points) == eval_labels)),
    }


@dataclass
class BetaVAEScore(Metric):
    """Reference: batch 64, 10,000 train and 5,000 eval points."""

    batch_size: int = 64
    num_train: int = 10_000
    num_eval: int = 5_000

    def __post_init__(self) -> None:
        check_sizes(self.batch_size, self.num_train, self.num_eval)

    @property
    def num_observations(self) -> int:
        return 2 * self.batch_size * (self.num_train + self.num_eval)

    def __call__(
        self, representation: Representation, factor_sizes: Sequence[int], rng: np.random.Generator
    ) -> dict[str, float]:
        return beta_vae_score(
            representation, factor_sizes, rng, self.batch_size, self.num_train, self.num_eval
        )
