"""Ground-truth and perceived distances between observations (the paper's §4 definitions).

d_gt(a, b) = ‖y_a − y_b‖₁ over integer factor indices (not normalised, not circular);
d_pcv(a, b) = L_rec(x_a, x_b), the reconstruction loss used as a distance, a mean over the C·H·W
elements of each pair (:meth:`ReconstructionLoss.distance`), so any ``loss/`` option plugs in.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from overlapvae.losses import ReconstructionLoss

#: Elements a batch of pairs may hold at once (per side): bounds memory for large traversals.
PAIR_ELEMENT_BUDGET = 1 << 22


def ground_truth_distance(factors_a: Tensor, factors_b: Tensor) -> Tensor:
    """ℓ1 distance between integer factor vectors ``[..., F]`` as ``float64 [...]``."""
    return (factors_a - factors_b).abs().sum(dim=-1).to(torch.float64)


def check_perceived_distances(name: str, distances: Tensor) -> None:
    """Refuse a loss that is not a distance: negative or non-finite values (one device sync)."""
    low = float(distances.min()) if distances.numel() else 0.0
    if low < 0.0:
        raise ValueError(
            f"loss {name!r} gives negative values between images (minimum {low:.4g}), so it is not a "
            "distance: use a loss that is non-negative and 0 for identical images (mse, l1, bce), "
            "or shift yours by its value on identical images"
        )
    if not bool(torch.isfinite(distances).all()):
        raise ValueError(
            f"loss {name!r} gives non-finite values between images: check the images' scale "
            "(bce needs images in [0, 1], i.e. standardise=false)"
        )


def perceived_distances(
    losses: Mapping[str, ReconstructionLoss], images_a: Tensor, images_b: Tensor
) -> dict[str, Tensor]:
    """d_pcv of every loss between matching images ``[B, C, H, W]``, each ``float32 [B]``, checked."""
    result = {}
    for name, loss in losses.items():
        distances = loss.distance(images_a, images_b)
        check_perceived_distances(name, distances)
        result[name] = distances
    return result


def upper_pairs(size: int, device: torch.device | str | None = None) -> tuple[Tensor, Tensor]:
    """Indices ``(i, j)`` of every pair ``i < j`` of ``size`` items, row by row."""
    i, j = torch.triu_indices(size, size, offset=1, device=device)
    return i, j


def pairs_to_matrix(values: Tensor, size: int) -> Tensor:
    """Symmetric ``[..., size, size]`` matrices with a zero diagonal from upper-pair values ``[..., P]``."""
    i, j = upper_pairs(size, values.device)
    matrix = values.new_zeros((*values.shape[:-1], size, size))
    matrix[..., i, j] = values
    matrix[..., j, i] = values
    return matrix


def traversal_pair_distances(losses: Mapping[str, ReconstructionLoss], images: Tensor) -> dict[str, Tensor]:
    """d_pcv of every pair i < j within each traversal of ``images [N, f, C, H, W]``: ``{loss: [N, P]}``.

    Pairs one step apart, two steps apart, … are measured as shifted views of the batch (no copies
    of image pairs); traversals are taken in chunks that bound the memory of one difference.
    """
    size = images.shape[1]
    first, second = upper_pairs(size, images.device)
    chunk = items_per_chunk(size * images[0, 0].numel())
    parts: dict[str, list[Tensor]] = {name: [] for name in losses}
    for part in images.split(chunk):
        matrices = {name: part.new_zeros(len(part), size, size) for name in losses}
        for step in range(1, size):
            positions = torch.arange(size - step, device=images.device)
            distances = perceived_distances(losses, part[:, :-step], part[:, step:])
            for name, values in distances.items():
                matrices[name][:, positions, positions + step] = values
        for name, matrix in matrices.items():
            parts[name].append(matrix[:, first, second])
    return {name: torch.cat(values) for name, values in parts.items()}


def items_per_chunk(elements_per_item: int) -> int:
    """How many items (images, pairs or traversals) of ``elements_per_item`` values one chunk may
    hold within ``PAIR_ELEMENT_BUDGET`` (at least one)."""
    return max(1, PAIR_ELEMENT_BUDGET // max(1, elements_per_item))
