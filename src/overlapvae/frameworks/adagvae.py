"""Ada-GVAE (Locatello et al. 2020), the paper's weakly-supervised framework (its §5.1).

Each training example is a pair of observations that differ in a few ground-truth factors. Per
pair, latents whose posteriors hardly differ are taken to be shared: with
``δ_j = ½KL(q0_j‖q1_j) + ½KL(q1_j‖q0_j)``, latent j is shared when
``δ_j < min δ + ratio · (max δ − min δ)`` (ratio ½: halfway). Both observations then use the
average posterior on shared latents, ``N((μ0 + μ1)/2, (σ0² + σ1²)/2)``; the reconstruction and
β-weighted KL terms are averaged over the two observations.

``mean_mode: paper`` reproduces the averaging bug present when the paper's runs were made
(disent issue #32): the shared mean was ``(μ1 + μ1)/2 = μ1``, so both observations received the
second one's mean with the averaged variance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, get_args

import torch
from torch import Tensor

from overlapvae.data.pairs import PairMode, check_pair_mode
from overlapvae.frameworks.autoencoder import ModelFactory, OptimizerFactory
from overlapvae.frameworks.vae import BetaVAE
from overlapvae.losses.divergence import kl_to_standard_normal, symmetric_gaussian_kl
from overlapvae.losses.reconstruction import ReconstructionLoss
from overlapvae.losses.reduction import reduce
from overlapvae.utils.validation import InvalidInputError

MeanMode = Literal["correct", "paper"]
MEAN_MODES = get_args(MeanMode)


def check_mean_mode(mean_mode: str) -> None:
    if mean_mode not in MEAN_MODES:
        raise InvalidInputError(f"mean_mode={mean_mode!r} is invalid: choose one of {', '.join(MEAN_MODES)}")


def shared_latents(mean: Tensor, log_variance: Tensor, ratio: float = 0.5) -> Tensor:
    """``[B, 2, z]`` posteriors of pairs → ``[B, z]`` bool: the latents the pair shares.

    The divergence only selects latents (no gradient flows through the choice), so it is
    computed in float64: posteriors sharper than float32 can express (σ² < 1e-38, reached with
    small β and heavily weighted reconstruction losses) still compare correctly.
    """
    mean, log_variance = mean.detach().double(), log_variance.detach().double()
    divergence = symmetric_gaussian_kl(mean[:, 0], log_variance[:, 0], mean[:, 1], log_variance[:, 1])
    low, high = divergence.min(dim=1, keepdim=True).values, divergence.max(dim=1, keepdim=True).values
    return divergence < low + ratio * (high - low)


def average_shared(
    mean: Tensor, log_variance: Tensor, shared: Tensor, mean_mode: str = "correct"
) -> tuple[Tensor, Tensor]:
    """Both observations' posteriors with the shared latents replaced by the pair's average
    (``mean_mode: paper`` takes μ1 as the average mean, the bug of the paper's runs).

    ``log((σ0² + σ1²)/2)`` is taken as a log-sum-exp, finite with a finite gradient for any
    finite log-variances (``exp`` would underflow to 0, and ``log 0`` to −∞, below −103).
    """
    check_mean_mode(mean_mode)
    average_mean = mean.mean(dim=1) if mean_mode == "correct" else mean[:, 1]
    average_log_variance = torch.logsumexp(log_variance, dim=1) - math.log(2.0)
    mask = shared[:, None, :]
    return (
        torch.where(mask, average_mean[:, None, :], mean),
        torch.where(mask, average_log_variance[:, None, :], log_variance),
    )


class AdaGVAE(BetaVAE):
    """Ada-GVAE on batches of pairs ``[B, 2, C, H, W]``; logs the mean number of shared latents."""

    term_names = ("recon", "kl", "loss", "elbo", "shared")

    def __init__(
        self,
        model: ModelFactory,
        recon_loss: ReconstructionLoss,
        optimizer: OptimizerFactory,
        image_shape: Sequence[int],
        beta: float = 0.0316,
        threshold_ratio: float = 0.5,
        mean_mode: MeanMode = "correct",
        pair_sampling: PairMode = "paper_code",
    ) -> None:
        if not 0.0 <= threshold_ratio <= 1.0:
            raise InvalidInputError(f"threshold_ratio={threshold_ratio} is invalid: choose a value in [0, 1]")
        check_mean_mode(mean_mode)
        check_pair_mode(pair_sampling)
        self.threshold_ratio = threshold_ratio
        self.mean_mode = mean_mode
        self.pair_sampling = pair_sampling
        super().__init__(model, recon_loss, optimizer, image_shape, beta)

    def batch_images(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        """Both images of every pair ``[B, 2, C, H, W]``, flattened to ``[2B, C, H, W]``."""
        return self.in_layout(batch[0].flatten(0, 1))

    def prepare_batch(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        """The pairs ``[B, 2, C, H, W]``, each image in the model's layout."""
        return self.batch_images(batch).unflatten(0, batch[0].shape[:2])

    def loss_terms(self, pairs: Tensor) -> dict[str, Tensor]:
        if pairs.ndim != 5 or pairs.shape[1] != 2:
            raise InvalidInputError(f"Ada-GVAE trains on pairs [B, 2, C, H, W], got {tuple(pairs.shape)}")
        batch = pairs.shape[0]
        images = pairs.flatten(0, 1)
        mean, log_variance = (t.unflatten(0, (batch, 2)) for t in self.posterior(images))
        shared = shared_latents(mean, log_variance, self.threshold_ratio)
        mean, log_variance = average_shared(mean, log_variance, shared, self.mean_mode)
        z = self.sample(mean, log_variance)
        outputs = self.model.decode(z.flatten(0, 1)).unflatten(0, (batch, 2))
        reduction = self.recon_loss.reduction
        recon = 0.5 * sum(self.recon_loss(outputs[:, i], pairs[:, i]) for i in range(2))
        kl = 0.5 * sum(
            reduce(kl_to_standard_normal(mean[:, i], log_variance[:, i]), reduction) for i in range(2)
        )
        terms = self.regularised(recon, kl, z, mean, log_variance)
        return {**terms, "elbo": -(recon + kl), "shared": shared.float().sum(dim=1).mean()}
