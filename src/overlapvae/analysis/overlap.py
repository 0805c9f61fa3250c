"""The 1-D overlap diagnostic of XYSquares (the paper's §2.1, disent's ``compute_xysquares_overlap``).

Two intervals of a square's length start at independent, uniformly drawn grid positions ``s·i``.
``overlap = max(min(end) − max(start), 0)`` and ``delta = min(|Δstart| + |Δend|, 2·length)``, the
number of pixels along the axis that differ. Their means are computed exactly, by enumerating
every pair of positions, rather than by sampling.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from overlapvae.utils.validation import InvalidInputError


@dataclass(frozen=True)
class IntervalOverlap:
    spacing: int
    square_size: int
    grid_size: int
    mean_overlap: float
    mean_delta: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def interval_overlap(spacing: int, square_size: int = 8, grid_size: int = 8) -> IntervalOverlap:
    """Exact mean overlap and delta of two random intervals on a grid of ``grid_size`` positions."""
    if min(spacing, square_size, grid_size) < 1:
        raise InvalidInputError(
            f"spacing={spacing}, square_size={square_size} and grid_size={grid_size} must each be >= 1"
        )
    starts = torch.arange(grid_size, dtype=torch.float64) * spacing
    start_a, start_b = starts.view(-1, 1), starts.view(1, -1)
    overlap = ((torch.minimum(start_a, start_b) + square_size) - torch.maximum(start_a, start_b)).clamp(min=0)
    delta = (2.0 * (start_a - start_b).abs()).clamp(max=2.0 * square_size)
    return IntervalOverlap(spacing, square_size, grid_size, float(overlap.mean()), float(delta.mean()))
