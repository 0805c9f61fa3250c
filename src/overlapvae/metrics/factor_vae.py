"""FactorVAE score (Kim & Mnih 2018) as disentanglement_lib computes it
(``evaluation/metrics/factor_vae.py``), with every vote of a batch drawn and scored at once.

A vote fixes one factor across a batch, finds the active code dimension with the least variance
relative to its global variance (ddof=1), and votes (factor, dimension). A majority-vote classifier
maps each dimension to a factor; the score is its accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from overlapvae.metrics.base import Metric
from overlapvae.metrics.sampling import Representation, check_codes, check_count, sample_factors
from overlapvae.utils.validation import InvalidInputError


def votes(
    representation: Representation,
    factor_sizes: Sequence[int],
    num_votes: int,
    batch_size: int,
    global_variances: np.ndarray,
    active: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Vote counts ``[num_factors, num_active_dims]`` from ``num_votes`` fixed-factor batches."""
    num_factors = len(factor_sizes)
    fixed = rng.integers(0, num_factors, size=num_votes)
    factors = sample_factors(factor_sizes, num_votes * batch_size, rng).reshape(num_votes, batch_size, -1)
    rows = np.arange(num_votes)
    factors[rows, :, fixed] = factors[rows, 0, fixed][:, None]
    codes = check_codes(representation(factors.reshape(num_votes * batch_size, -1)))
    local_variances = codes.reshape(num_votes, batch_size, -1).var(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant kept dim gives 0/0, as in the reference
        chosen = np.argmin(local_variances[:, active] / global_variances[active], axis=1)
    counts = np.zeros((num_factors, int(active.sum())), dtype=np.int64)
    np.add.at(counts, (fixed, chosen), 1)
    return counts


def check_sizes(
    batch_size: int, num_train: int, num_eval: int, num_variance_estimate: int, prune_threshold: float
) -> None:
    """Reject sizes the score cannot use (a variance needs two points), naming the parameter."""
    check_count("batch_size", batch_size, 2)
    check_count("num_train", num_train, 1)
    check_count("num_eval", num_eval, 1)
    check_count("num_variance_estimate", num_variance_estimate, 2)
    if not prune_threshold >= 0:
        raise InvalidInputError(f"prune_threshold={prune_threshold} is invalid: use 0.0 or more")


def factor_vae_score(
    representation: Representation,
    factor_sizes: Sequence[int],
    rng: np.random.Generator,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    num_variance_estimate: int = 10_000,
    prune_threshold: float = 0.05,
) -> dict[str, float]:
    """``train_accuracy``, ``eval_accuracy`` and ``num_active_dims`` (the real count of code
    dimensions whose global std is at least ``prune_threshold``; the reference reports the
    total number of dimensions under this name)."""
    check_sizes(batch_size, num_train, num_eval, num_variance_estimate, prune_threshold)
    global_codes = check_codes(representation(sample_factors(factor_sizes, num_variance_estimate, rng)))
    global_variances = global_codes.var(axis=0, ddof=1)
    active = np.sqrt(global_variances) >= prune_threshold
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    arguments = (representation, factor_sizes)
    train_votes = votes(*arguments, num_train, batch_size, global_variances, active, rng)
    classifier = np.argmax(train_votes, axis=0)
    columns = np.arange(train_votes.shape[1])
    eval_votes = votes(*arguments, num_eval, batch_size, global_variances, active, rng)
    return {
        "train_accuracy": float(train_votes[classifier, columns].sum() / train_votes.sum()),
        "eval_accuracy": float(eval_votes[classifier, columns].sum() / eval_votes.sum()),
        "num_active_dims": int(active.sum()),
    }


@dataclass
class FactorVAEScore(Metric):
    """Reference: batch 64, 10,000 train / 5,000 eval votes, 10,000 points for the variances,
    prune threshold 0.05 (the paper's code used 0.0, which keeps every dimension)."""

    batch_size: int = 64
    num_train: int = 10_000
    num_eval: int = 5_000
    num_variance_estimate: int = 10_000
    prune_threshold: float = 0.05

    def __post_init__(self) -> None:
        check_sizes(
            self.batch_size, self.num_train, self.num_eval, self.num_variance_estimate, self.prune_threshold
        )

    @property
    def num_observations(self) -> int:
        return self.num_variance_estimate + self.batch_size * (self.num_train + self.num_eval)

    def __call__(
        self, representation: Representation, factor_sizes: Sequence[int], rng: np.random.Generator
    ) -> dict[str, float]:
        return factor_vae_score(
            representation,
            factor_sizes,
            rng,
            self.batch_size,
            self.num_train,
            self.num_eval,
            self.num_variance_estimate,
            self.prune_threshold,
        )
