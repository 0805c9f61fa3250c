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
from overlapvae.utils.validation import InvalidInputError

#: Elements a batch of pairs may hold at once (per side): bounds memory for large traversals.
PAIR_ELEMENT_BUDGET = 1 << 22


def ground_truth_distance(factors_a: Tensor, factors_b: Tensor) -> Tensor:
    """ℓ1 distance between integer factor vectors ``[..., F]`` as ``float64 [...]``."""
    return (factors_a - factors_b).abs().sum(dim=-1).to(torch.float64)


def check_perceived_distances(name: str, distances: Tensor) -> None:
    """Refuse a loss that is not a distance: negative or non-finite values (one device sync)."""
    low = float(distances.min()) if distances.numel() else 0.0
    if low < 0.0:
        raise InvalidInputError(
            f"loss {name!r} gives negative values between images (minimum {low:.4g}), so it is not a "
            "distance: use a loss that is non-negative and 0 for identical images (mse, l1, bce), "
            "or shift yours by its value on identical images"
        )
    if not bool(torch.isfinite(distances).all()):
        raise InvalidInputError(
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

    A loss with a Euclidean embedding (MSE and its kernel variants) embeds each image once and
    takes every pair from the traversal's Gram matrix (:func:`embedded_pair_distances`); any other
    loss measures pairs one step apart, two steps apart, … as shifted views of the batch (no copies
    of image pairs). Traversals are taken in chunks that bound the memory of one difference.
    """
    size = images.shape[1]
    first, second = upper_pairs(size, images.device)
    chunk = items_per_chunk(size * images[0, 0].numel())
    parts: dict[str, list[Tensor]] = {name: [] for name in losses}
    for part in images.split(chunk):
        for name, loss in losses.items():
            embedding = loss.euclidean_embedding(part)
            if embedding is None:
                matrix = shifted_pair_distances(loss, part)
            else:
                matrix = embedded_pair_distances(embedding, part[0, 0].numel())
            check_perceived_distances(name, matrix)
            parts[name].append(matrix[:, first, second])
    return {name: torch.cat(values) for name, values in parts.items()}


def shifted_pair_distances(loss: ReconstructionLoss, images: Tensor) -> Tensor:
    """``[N, f, f]`` with the loss between images i < j of each traversal above the diagonal (zeros
    elsewhere), one call per step j − i on shifted views."""
    size = images.shape[1]
    matrix = images.new_zeros(len(images), size, size)
    for step in range(1, size):
        positions = torch.arange(size - step, device=images.device)
        matrix[:, positions, positions + step] = loss.distance(images[:, :-step], images[:, step:])
    return matrix


def embedded_pair_distances(embedding: Tensor, image_elements: int) -> Tensor:
    """``float32 [N, f, f]``: ‖e_i − e_j‖² / ``image_elements`` for embeddings ``[N, f, ...]`` of D
    values, as ‖e_i‖² + ‖e_j‖² − 2⟨e_i, e_j⟩ from one Gram matrix per traversal in float64 (products of
    float32 values are exact there). A result within the rounding bound of that sum,
    D·ε·(‖e_i‖² + ‖e_j‖²) (about 3e-12 of the images' energy for 3 × 64 × 64 images), is set to 0, so
    identical images are exactly 0 apart as under the loss itself."""
    flat = embedding.to(torch.float64, memory_format=torch.contiguous_format).flatten(2)
    gram = flat @ flat.transpose(1, 2)
    norms = gram.diagonal(dim1=1, dim2=2)
    energy = norms.unsqueeze(2) + norms.unsqueeze(1)
    squared = energy - 2 * gram
    resolution = flat.shape[2] * torch.finfo(torch.float64).eps * energy
    return (squared.masked_fill(squared <= resolution, 0.0) / image_elements).to(torch.float32)


def items_per_chunk(elements_per_item: int) -> int:
    """How many items (images, pairs or traversals) of ``elements_per_item`` values one chunk may
    hold within ``PAIR_ELEMENT_BUDGET`` (at least one)."""
    return max(1, PAIR_ELEMENT_BUDGET // max(1, elements_per_item))
