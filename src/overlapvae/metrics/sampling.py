"""What every metric shares: the representation type, factor sampling and input checks.

Codes are arrays ``[num_points, num_codes]`` and factors ``[num_points, num_factors]`` (points
first; disentanglement_lib stores the transpose). A *representation* maps a batch of factor
vectors to codes, so a metric can render and encode whatever batches it samples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from overlapvae.utils.validation import InvalidInputError

#: Factor vectors ``int64 [B, F]`` → codes ``float [B, num_codes]``.
Representation = Callable[[np.ndarray], np.ndarray]


def sample_factors(factor_sizes: Sequence[int], num: int, rng: np.random.Generator) -> np.ndarray:
    """``num`` factor vectors drawn uniformly over the full grid (each factor independently)."""
    return rng.integers(0, np.asarray(factor_sizes), size=(num, len(factor_sizes)), dtype=np.int64)


def sample_codes(
    representation: Representation, factor_sizes: Sequence[int], num: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Codes and factors of ``num`` uniformly sampled observations
    (disentanglement_lib's ``generate_batch_factor_code``, transposed)."""
    factors = sample_factors(factor_sizes, num, rng)
    return np.asarray(representation(factors)), factors


def check_count(name: str, value: int, minimum: int) -> None:
    """Reject a sample count below what the metric needs, naming the parameter."""
    if not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidInputError(f"{name}={value!r} is too small: this metric needs at least {minimum}")


def check_codes(codes: np.ndarray, name: str = "codes", min_points: int = 2) -> np.ndarray:
    """``codes`` as a finite float64 ``[N, num_codes]`` array, else a ``ValueError`` saying why."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[1] < 1:
        raise InvalidInputError(
            f"{name} must be a 2-D array [num_points, num_codes], got shape {codes.shape}"
        )
    if codes.shape[0] < min_points:
        raise InvalidInputError(
            f"{name} has {codes.shape[0]} points; this metric needs at least {min_points}"
        )
    bad = ~np.isfinite(codes)
    if bad.any():
        dims = sorted(set(np.nonzero(bad)[1].tolist()))
        raise InvalidInputError(
            f"{name} contain {int(bad.sum())} non-finite values (NaN or inf) in code dimensions {dims}: "
            "the model diverged or the representation is broken"
        )
    return codes


def check_codes_and_factors(
    codes: np.ndarray, factors: np.ndarray, name: str = "codes", min_points: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (codes, factors) pair: equal length, finite codes, every factor varying."""
    codes = check_codes(codes, name, min_points)
    factors = np.asarray(factors)
    if factors.ndim != 2 or not np.issubdtype(factors.dtype, np.integer):
        raise InvalidInputError(
            f"factors must be a 2-D integer array [num_points, num_factors], got {factors.dtype} "
            f"of shape {factors.shape}"
        )
    if factors.shape[0] != codes.shape[0]:
        raise InvalidInputError(
            f"{name} and factors differ in length: {codes.shape[0]} points of codes against "
            f"{factors.shape[0]} of factors; pass one factor vector per code"
        )
    constant = [j for j in range(factors.shape[1]) if np.all(factors[:, j] == factors[0, j])]
    if constant:
        raise InvalidInputError(
            f"factor column(s) {constant} take a single value in these {factors.shape[0]} points; "
            "a metric cannot score a factor that never varies: drop it or sample more points"
        )
    return codes, factors
