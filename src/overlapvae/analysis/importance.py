"""Factor importance (the paper's Appendix A, Table A1): how far apart a loss perceives observations
that differ along one factor, against pairs of random observations.

Per factor: draw random traversals; within each, ⌊f·√f/2⌋ random ordered pairs of positions; drop
pairs of a position with itself; keep the first ``num_pairs`` (50,000 in the paper) and report the
mean and (population) std of their perceived distance. The baseline is ``num_pairs`` pairs of
uniformly random observations. The pairs' ground-truth distances come with them, for correlations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from overlapvae.analysis.distances import (
    ground_truth_distance,
    items_per_chunk,
    perceived_distances,
)
from overlapvae.analysis.traversals import factor_index
from overlapvae.data import GroundTruthData
from overlapvae.losses import ReconstructionLoss


@dataclass
class PairDistances:
    """Ground-truth (``float64 [M]``) and perceived (per loss, ``float32 [M]``) distances of M pairs."""

    ground_truth: Tensor
    perceived: dict[str, Tensor]

    def mean(self, loss: str) -> float:
        """Mean of ``loss``'s perceived distances (in float64)."""
        return float(self.perceived[loss].to(torch.float64).mean())

    def summary(self, loss: str) -> tuple[float, float]:
        """Mean and population std of ``loss``'s perceived distances."""
        return self.mean(loss), float(self.perceived[loss].to(torch.float64).std(correction=0))

    def mean_ratio(self, loss: str, other: str) -> float | None:
        """``mean d_loss / mean d_other``: how much farther apart ``loss`` perceives these pairs
        (``None`` when ``other`` sees no difference)."""
        denominator = self.mean(other)
        return self.mean(loss) / denominator if denominator > 0 else None


def pairs_per_traversal(size: int) -> int:
    """⌊f·√f/2⌋ ordered pairs drawn per traversal (at least one)."""
    return max(1, int(size * math.sqrt(size) / 2))


def within_traversal_pairs(
    data: GroundTruthData, factor: int | str, num_pairs: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """``num_pairs`` pairs of factor vectors ``[M, F]`` that differ only in ``factor`` (Table A1)."""
    index = factor_index(data, factor)
    size = data.factor_sizes[index]
    per_traversal = pairs_per_traversal(size)
    kept_per_traversal = per_traversal * (1.0 - 1.0 / size)
    firsts, seconds, kept = [], [], 0
    while kept < num_pairs:
        count = math.ceil((num_pairs - kept) / kept_per_traversal * 1.05) + 1
        bases = data.sample_factors(count, generator).unsqueeze(1).expand(-1, per_traversal, -1)
        values = torch.randint(
            0, size, (2, count, per_traversal), generator=generator, device=generator.device
        )
        distinct = values[0] != values[1]
        first, second = bases.clone(), bases.clone()
        first[..., index], second[..., index] = values[0], values[1]
        firsts.append(first[distinct])
        seconds.append(second[distinct])
        kept += int(distinct.sum())
    return torch.cat(firsts)[:num_pairs], torch.cat(seconds)[:num_pairs]


def random_pairs(data: GroundTruthData, num_pairs: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``num_pairs`` pairs of uniformly random observations' factor vectors (the Table A1 baseline)."""
    return data.sample_factors(num_pairs, generator), data.sample_factors(num_pairs, generator)


@torch.no_grad()
def pair_distances(
    data: GroundTruthData,
    losses: Mapping[str, ReconstructionLoss],
    factors_a: Tensor,
    factors_b: Tensor,
    standardise: bool = False,
) -> PairDistances:
    """Distances between the observations of matching rows of ``factors_a`` and ``factors_b``."""
    chunk = items_per_chunk(math.prod(data.image_shape))
    perceived: dict[str, list[Tensor]] = {name: [] for name in losses}
    for part_a, part_b in zip(factors_a.split(chunk), factors_b.split(chunk), strict=True):
        distances = perceived_distances(
            losses,
            data.render_float(part_a, standardise=standardise),
            data.render_float(part_b, standardise=standardise),
        )
        for name, values in distances.items():
            perceived[name].append(values)
    return PairDistances(
        ground_truth=ground_truth_distance(factors_a, factors_b),
        perceived={name: torch.cat(parts) for name, parts in perceived.items()},
    )
