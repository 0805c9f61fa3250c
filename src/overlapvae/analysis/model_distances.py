"""Distances at each level of a trained model (the paper's §3.3, Figs. 4 and 10).

For each factor, over ``num_traversals`` random full traversals and every pair i < j, five
averaged matrices: ``factors`` (ℓ1 of factor indices), ``x`` (the framework's own reconstruction
loss between the two inputs, on the inputs' training scale), ``z`` (ℓ2 between posterior means),
``kl`` (symmetric KL ½KL(q_a‖q_b) + ½KL(q_b‖q_a), mean over latent dimensions; VAEs only) and
``x_recon`` (the loss between the decodings of the two posterior means). Every image of a factor's
traversals is encoded and decoded once, in batches, and all pairs are formed from those results
(disent's callback encodes and decodes each pair's two images anew).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from overlapvae.analysis.distances import (
    ground_truth_distance,
    pairs_to_matrix,
    traversal_pair_distances,
    upper_pairs,
)
from overlapvae.analysis.traversals import render_traversals, traversal_factors, varying_factors
from overlapvae.data import GroundTruthData
from overlapvae.losses import ReconstructionLoss
from overlapvae.losses.divergence import symmetric_gaussian_kl
from overlapvae.utils.validation import InvalidInputError

COLUMNS = ("factors", "x", "z", "kl", "x_recon")


def symmetric_kl(mean_a: Tensor, log_variance_a: Tensor, mean_b: Tensor, log_variance_b: Tensor) -> Tensor:
    """½KL(a‖b) + ½KL(b‖a) of diagonal Gaussians, a mean over the last dimension."""
    return symmetric_gaussian_kl(mean_a, log_variance_a, mean_b, log_variance_b).mean(dim=-1)


def check_model_matches(framework: nn.Module, data: GroundTruthData) -> None:
    """Refuse a model whose input shape is not the data set's."""
    if tuple(framework.image_shape) != tuple(data.image_shape):
        raise InvalidInputError(
            f"the model takes images of shape {tuple(framework.image_shape)} but the data set "
            f"{type(data).__name__} renders {tuple(data.image_shape)}: audit the model on the data set "
            "it was trained on (drop the dataset override)"
        )


@torch.no_grad()
def traversal_columns(
    framework: nn.Module, images: Tensor, losses: dict[str, ReconstructionLoss]
) -> dict[str, Tensor]:
    """The model's columns ``{column: [n, P]}`` for the pairs of ``n`` traversals ``[n, f, C, H, W]``,
    each image encoded and decoded once, in one batch."""
    count, size = images.shape[:2]
    first, second = upper_pairs(size, images.device)
    means, log_variances = framework.posterior(images.flatten(0, 1))
    decoded = framework.decode(means)
    means = means.view(count, size, -1)
    columns = {
        "x": traversal_pair_distances(losses, images)["loss"],
        "z": torch.linalg.vector_norm(means[:, first] - means[:, second], dim=-1),
        "x_recon": traversal_pair_distances(losses, decoded.view(images.shape))["loss"],
    }
    if log_variances is not None:
        log_variances = log_variances.view(count, size, -1)
        columns["kl"] = symmetric_kl(
            means[:, first], log_variances[:, first], means[:, second], log_variances[:, second]
        )
    return columns


@torch.no_grad()
def traversal_model_matrices(
    framework: nn.Module, data: GroundTruthData, traversals: Tensor, standardise: bool, batch_size: int = 128
) -> dict[str, Tensor]:
    """``{column: float64 [f, f]}``: the columns of ``COLUMNS`` the model has, averaged over the given
    traversals ``long [N, f, F]`` of one factor (on the model's device), as many whole traversals
    per pass as fit in ``batch_size`` images. The model should be in eval mode."""
    size = traversals.shape[1]
    first, second = upper_pairs(size, traversals.device)
    losses = {"loss": framework.recon_loss}
    parts: dict[str, list[Tensor]] = {}
    for part in traversals.split(max(1, batch_size // size)):
        images = render_traversals(data, part, standardise)
        for name, values in traversal_columns(framework, images, losses).items():
            parts.setdefault(name, []).append(values)
    columns = {
        "factors": ground_truth_distance(traversals[:, first], traversals[:, second]),
        **{name: torch.cat(values) for name, values in parts.items()},
    }
    return {
        name: pairs_to_matrix(columns[name].to(torch.float64).mean(0), size)
        for name in COLUMNS
        if name in columns
    }


@torch.no_grad()
def model_distance_matrices(
    framework: nn.Module,
    data: GroundTruthData,
    standardise: bool,
    num_traversals: int = 100,
    generator: torch.Generator | None = None,
    factors: Sequence[int | str] | None = None,
    batch_size: int = 128,
) -> dict[str, dict[str, Tensor]]:
    """``{factor: {column: float64 [f, f]}}`` for the columns of ``COLUMNS`` the model has.

    ``framework`` is a trained framework (``overlapvae.frameworks``): ``encode``/``decode``, its
    ``recon_loss``, ``image_shape`` and ``posterior`` (mean and log-variance; code and ``None`` for
    a deterministic autoencoder).

    ``standardise`` must be how the model saw its inputs in training. Traversals go through the
    model whole, as many per pass as fit in ``batch_size`` images (at least one). The model is put
    in eval mode for the computation and restored afterwards; everything runs on its device.
    """
    check_model_matches(framework, data)
    if num_traversals < 1:
        raise InvalidInputError(f"num_traversals={num_traversals} is invalid: use at least 1")
    device = next(framework.parameters()).device
    generator = generator if generator is not None else torch.Generator(device).manual_seed(0)
    was_training = framework.training
    framework.eval()
    try:
        result = {}
        for index in varying_factors(data, factors):
            bases = data.sample_factors(num_traversals, generator).to(device)
            traversals = traversal_factors(data, index, bases)
            result[data.factor_names[index]] = traversal_model_matrices(
                framework, data, traversals, standardise, batch_size
            )
        return result
    finally:
        framework.train(was_training)
