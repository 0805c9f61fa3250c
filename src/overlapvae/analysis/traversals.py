"""Factor traversals and their averaged distance matrices D(i) (the paper's §3.2, Figs. 3 and 8).

A traversal along factor i from base point a is the ordered set of the f_i observations that share
every factor of a except i. For each factor, ``num_traversals`` base points are drawn uniformly
(seeded); each traversal is rendered as one batch and every pair i < j of a chunk of traversals is
measured in one call. D(i) is the mean over traversals of the symmetric, zero-diagonal matrices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from overlapvae.analysis.distances import (
    ground_truth_distance,
    items_per_chunk,
    pairs_to_matrix,
    traversal_pair_distances,
    upper_pairs,
)
from overlapvae.data import GroundTruthData
from overlapvae.losses import ReconstructionLoss
from overlapvae.utils.validation import InvalidInputError


def factor_index(data: GroundTruthData, factor: int | str) -> int:
    """The index of ``factor`` (a name or an index), checked to have more than one value."""
    if isinstance(factor, str):
        if factor not in data.factor_names:
            raise InvalidInputError(f"unknown factor {factor!r}: choose from {', '.join(data.factor_names)}")
        index = data.factor_names.index(factor)
    else:
        index = int(factor)
        if not 0 <= index < data.num_factors:
            raise InvalidInputError(f"factor index {index} is out of range for {data.num_factors} factors")
    if data.factor_sizes[index] < 2:
        varying = [name for name, size in zip(data.factor_names, data.factor_sizes, strict=True) if size > 1]
        raise InvalidInputError(
            f"factor {data.factor_names[index]!r} has a single value, so no traversal along it exists: "
            f"choose factors that vary ({', '.join(varying) or 'none in this data set'})"
        )
    return index


def varying_factors(data: GroundTruthData, factors: Sequence[int | str] | None = None) -> list[int]:
    """Indices of the requested factors (each checked), or of every factor with more than one value."""
    if factors is not None:
        return [factor_index(data, factor) for factor in factors]
    indices = [index for index, size in enumerate(data.factor_sizes) if size > 1]
    if not indices:
        raise InvalidInputError(
            f"no factor of this data set varies (sizes {data.factor_sizes}): nothing to traverse"
        )
    return indices


def traversal_factors(data: GroundTruthData, factor: int, bases: Tensor) -> Tensor:
    """``long [N, f, F]``: for each base ``[N, F]``, every value of ``factor`` in order."""
    size = data.factor_sizes[factor]
    traversals = bases.unsqueeze(1).repeat(1, size, 1)
    traversals[:, :, factor] = torch.arange(size, device=bases.device)
    return traversals


def render_traversals(data: GroundTruthData, traversals: Tensor, standardise: bool) -> Tensor:
    """``float32 [N, f, C, H, W]`` images of ``[N, f, F]`` factors, rendered as one batch."""
    images = data.render_float(traversals.flatten(0, 1), standardise=standardise)
    return images.view(*traversals.shape[:2], *images.shape[1:])


@dataclass
class TraversalDistances:
    """Distances of every pair ``i < j`` within ``N`` traversals along one factor.

    ``ground_truth`` is ``float64 [N, P]``; ``perceived`` maps each loss to ``float32 [N, P]``,
    with ``P = f(f − 1)/2`` pairs ordered as :func:`upper_pairs`.
    """

    factor: int
    name: str
    size: int
    ground_truth: Tensor
    perceived: dict[str, Tensor]

    def matrix(self, values: Tensor) -> Tensor:
        """The averaged matrix D(i) ``[f, f]`` of per-traversal pair values ``[N, P]``."""
        return pairs_to_matrix(values.to(torch.float64).mean(dim=0), self.size)

    def matrices(self) -> dict[str, Tensor]:
        """``ground_truth`` and each loss's averaged matrix D(i)."""
        return {
            "ground_truth": self.matrix(self.ground_truth),
            **{name: self.matrix(values) for name, values in self.perceived.items()},
        }

    def per_traversal(self, values: Tensor) -> Tensor:
        """``[N, f, f]``: each traversal's own symmetric matrix."""
        return pairs_to_matrix(values, self.size)


@torch.no_grad()
def traversal_distances(
    data: GroundTruthData,
    losses: Mapping[str, ReconstructionLoss],
    factor: int | str,
    num_traversals: int = 256,
    generator: torch.Generator | None = None,
    standardise: bool = False,
) -> TraversalDistances:
    """Ground-truth and perceived distances of every pair within ``num_traversals`` random traversals.

    Images are on the [0, 1] scale by default (the paper's figures), or standardised as in
    training. Runs on ``generator``'s device (CPU when none is given: a fixed seed of 0).
    """
    if num_traversals < 1:
        raise InvalidInputError(f"num_traversals={num_traversals} is invalid: use at least 1")
    index = factor_index(data, factor)
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    device = generator.device
    size = data.factor_sizes[index]
    first, second = upper_pairs(size, device)
    traversals = traversal_factors(data, index, data.sample_factors(num_traversals, generator))
    ground_truth = ground_truth_distance(traversals[:, first], traversals[:, second])
    chunk = items_per_chunk(size * math.prod(data.image_shape))
    perceived: dict[str, list[Tensor]] = {name: [] for name in losses}
    for part in traversals.split(chunk):
        distances = traversal_pair_distances(losses, render_traversals(data, part, standardise))
        for name, values in distances.items():
            perceived[name].append(values)
    return TraversalDistances(
        factor=index,
        name=data.factor_names[index],
        size=size,
        ground_truth=ground_truth,
        perceived={name: torch.cat(parts) for name, parts in perceived.items()},
    )
