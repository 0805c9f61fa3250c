"""VAE and β-VAE (Kingma & Welling 2014; Higgins et al. 2017) with the paper's β normalisation.

``loss = L_rec + β · KL(q(z|x) ‖ N(0, I))`` with both terms reduced alike: under the paper's
``mean`` reduction (its Appendix B.1) the reconstruction is a mean over B·C·H·W and the KL a
mean over B·z, so the equivalent β of the summed convention is ``β · C·H·W / z`` (logged as
``beta_sum_equivalent``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from torch import Tensor

from overlapvae.frameworks.autoencoder import AutoEncoder, ModelFactory, OptimizerFactory
from overlapvae.losses.divergence import kl_to_standard_normal
from overlapvae.losses.reconstruction import ReconstructionLoss
from overlapvae.losses.reduction import reduce
from overlapvae.utils.validation import InvalidInputError


def summed_equivalent(weight: float, reduction: str, image_shape: Sequence[int], latent_size: int) -> float:
    """The weight of a KL-type term in the summed convention (the paper's Appendix B.1)."""
    return weight * math.prod(image_shape) / latent_size if reduction == "mean" else weight


class VAE(AutoEncoder):
    """The VAE: a diagonal-Gaussian posterior, one reparameterised sample, KL weight 1."""

    encoder_heads = 2
    term_names = ("recon", "kl", "loss", "elbo")

    @property
    def kl_weight(self) -> float:
        return 1.0

    @property
    def reported_beta(self) -> float:
        """The weight logged as ``beta_sum_equivalent`` (in the summed convention)."""
        return self.kl_weight

    def derived_hyperparameters(self) -> dict[str, Any]:
        reduction = self.recon_loss.reduction
        beta_sum = summed_equivalent(self.reported_beta, reduction, self.image_shape, self.latent_size)
        return {**super().derived_hyperparameters(), "beta_sum_equivalent": beta_sum}

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of ``q(z|x)``: the first and second halves of the encoder output."""
        mean, log_variance = self.model.encode(self.in_layout(x)).chunk(2, dim=1)
        return mean, log_variance

    def sample(self, mean: Tensor, log_variance: Tensor) -> Tensor:
        """One reparameterised sample ``mean + σ · ε`` (Kingma & Welling 2014, Eq. 10)."""
        return mean + (0.5 * log_variance).exp() * self.standard_normal(mean)

    def standard_normal(self, like: Tensor) -> Tensor:
        """The step's ``ε ~ N(0, I)`` in the shape of ``like``, from torch's global generator (a pack
        of runs hands each member the draws of its own generator instead)."""
        return like.new_empty(like.shape).normal_()

    def loss_terms(self, x: Tensor) -> dict[str, Tensor]:
        mean, log_variance = self.posterior(x)
        z = self.sample(mean, log_variance)
        recon = self.recon_loss(self.model.decode(z), x)
        kl = reduce(kl_to_standard_normal(mean, log_variance), self.recon_loss.reduction)
        return {**self.regularised(recon, kl, z, mean, log_variance), "elbo": -(recon + kl)}

    def regularised(
        self, recon: Tensor, kl: Tensor, z: Tensor, mean: Tensor, log_variance: Tensor
    ) -> dict[str, Tensor]:
        """The training objective's terms; ``loss`` is what is minimised."""
        return {"recon": recon, "kl": kl, "loss": recon + self.kl_weight * kl}


class BetaVAE(VAE):
    """β-VAE: the VAE with KL weight ``beta`` (the paper's default is 0.0316, mean-reduced)."""

    def __init__(
        self,
        model: ModelFactory,
        recon_loss: ReconstructionLoss,
        optimizer: OptimizerFactory,
        image_shape: Sequence[int],
        beta: float = 1.0,
    ) -> None:
        if not beta >= 0:
            raise InvalidInputError(f"beta={beta} is invalid: choose a non-negative number")
        self.beta = beta
        super().__init__(model, recon_loss, optimizer, image_shape)

    @property
    def kl_weight(self) -> float:
        return self.beta
