"""Does perceived distance order observations as the ground truth does? (the paper's §3.6)

Rank (Spearman) and linear (Pearson) correlation between d_gt and d_pcv over pairs, and the
triplet agreement rate: the fraction of triplets (a, p, n) for which d(a, p) − d(a, n) has the same
sign under both distances, a tie agreeing only with a tie (disent's ``rsame``). A distance that is
constant over the pairs has no correlation: it is reported as ``None`` (undefined), never as 0 or
NaN. Unlike disent's protocol, pairs of an observation with itself are excluded everywhere: their
zero distance under both measures would make even a constant distance look correlated.

Ranks treat values within ``RELATIVE_TOLERANCE`` of each other as tied: float32 losses of equal
quantities summed in different orders differ in their last bits, and ranking those bits would
order pairs that are equally far apart (L1 and MSE on standardised XYSquares would then correlate
at 0.9988 instead of 1).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from overlapvae.utils.validation import InvalidInputError

#: Values whose spread is at most this fraction of their magnitude count as constant (and equal
#: values as tied): float32 losses of identical quantities differ by rounding only.
RELATIVE_TOLERANCE = 1e-6


def _numpy(values: Tensor | np.ndarray) -> np.ndarray:
    if isinstance(values, Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def is_constant(values: Tensor | np.ndarray) -> bool:
    """Whether every value equals the others up to ``RELATIVE_TOLERANCE``."""
    array = _numpy(values)
    return bool(np.ptp(array) <= RELATIVE_TOLERANCE * np.abs(array).max()) if array.size else True


def tolerant_ranks(values: Tensor | np.ndarray) -> np.ndarray:
    """Average ranks (1-based) in which values that follow each other within ``RELATIVE_TOLERANCE``
    of their magnitude form one tie (float rounding is relative to each value)."""
    array = _numpy(values)
    order = np.argsort(array, kind="stable")
    ordered = array[order]
    resolution = RELATIVE_TOLERANCE * np.maximum(np.abs(ordered[:-1]), np.abs(ordered[1:]))
    group = np.cumsum(np.concatenate([[True], np.diff(ordered) > resolution])) - 1
    positions = np.arange(1, array.size + 1, dtype=np.float64)
    ranks = np.empty(array.size)
    ranks[order] = (np.bincount(group, weights=positions) / np.bincount(group))[group]
    return ranks


def rank_correlation(x: Tensor | np.ndarray, y: Tensor | np.ndarray) -> float | None:
    """Spearman's ρ on tolerant ranks, or ``None`` when either side is constant (undefined)."""
    if is_constant(x) or is_constant(y):
        return None
    return float(stats.pearsonr(tolerant_ranks(x), tolerant_ranks(y)).statistic)


def ordering_correlation(x: Tensor | np.ndarray, y: Tensor | np.ndarray) -> float | None:
    """How alike two distances order the same pairs: exactly 1 when their tolerant ranks are
    identical (every pair ordered alike, ties with ties, constant with constant), ``None`` when
    only one is constant, else Spearman's ρ."""
    ranks_x, ranks_y = tolerant_ranks(x), tolerant_ranks(y)
    if np.array_equal(ranks_x, ranks_y):
        return 1.0
    return rank_correlation(x, y)


def linear_correlation(x: Tensor | np.ndarray, y: Tensor | np.ndarray) -> float | None:
    """Pearson's r, or ``None`` when either side is constant (undefined)."""
    if is_constant(x) or is_constant(y):
        return None
    return float(stats.pearsonr(_numpy(x), _numpy(y)).statistic)


def _signs(differences: Tensor, scale: Tensor) -> Tensor:
    return torch.where(differences.abs() <= RELATIVE_TOLERANCE * scale, 0, differences.sign())


def agreement(
    ground_truth_ap: Tensor, ground_truth_an: Tensor, perceived_ap: Tensor, perceived_an: Tensor
) -> float:
    """Fraction of triplets whose two distances order (p, n) alike; ties agree only with ties."""
    truth = _signs(ground_truth_ap - ground_truth_an, torch.maximum(ground_truth_ap, ground_truth_an))
    perceived = perceived_ap.to(torch.float64) - perceived_an.to(torch.float64)
    scale = torch.maximum(perceived_ap, perceived_an).to(torch.float64)
    return float((truth == _signs(perceived, scale)).to(torch.float64).mean())


def distinct_triplets(size: int, count: int, generator: torch.Generator) -> Tensor:
    """``long [count, 3]``: uniformly random triplets of distinct positions in ``range(size)``."""
    if size < 3:
        raise InvalidInputError(f"a triplet of distinct positions needs at least 3 values, got {size}")
    noise = torch.rand((count, size), generator=generator, device=generator.device)
    return noise.argsort(dim=1)[:, :3]


def traversal_triplet_agreement(
    ground_truth: Tensor, perceived: Tensor, triplets_per_traversal: int, generator: torch.Generator
) -> float | None:
    """Triplet agreement within traversals, from per-traversal matrices ``[N, f, f]``.

    ``triplets_per_traversal`` triplets of distinct positions are drawn in each traversal (64 in
    disent's protocol); ``None`` for factors with fewer than 3 values.
    """
    count, size = ground_truth.shape[0], ground_truth.shape[-1]
    if size < 3:
        return None
    triplets = distinct_triplets(size, count * triplets_per_traversal, generator).view(count, -1, 3)
    rows = torch.arange(count, device=triplets.device).unsqueeze(1)
    anchor, positive, negative = triplets.unbind(-1)
    return agreement(
        ground_truth[rows, anchor, positive].to(torch.float64),
        ground_truth[rows, anchor, negative].to(torch.float64),
        perceived[rows, anchor, positive],
        perceived[rows, anchor, negative],
    )
