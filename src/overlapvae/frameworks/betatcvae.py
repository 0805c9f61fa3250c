"""β-TCVAE (Chen et al. 2018, eq. 4): ``L_rec + α·MI + β·TC + γ·dimension-wise KL``.

The three terms come from :func:`overlapvae.losses.decompose_kl` and are reduced like the
reconstruction loss, so under the paper's ``mean`` reduction each weight is on the same scale as
β-VAE's β. The analytic KL is logged beside them for comparison.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from overlapvae.frameworks.autoencoder import ModelFactory, OptimizerFactory
from overlapvae.frameworks.vae import VAE
from overlapvae.losses.reconstruction import ReconstructionLoss
from overlapvae.losses.reduction import reduce_sample_totals
from overlapvae.losses.total_correlation import Estimator, decompose_kl
from overlapvae.utils.validation import InvalidInputError


class BetaTCVAE(VAE):
    """β-TCVAE with the minibatch-stratified (``mss``) or minibatch-weighted (``mws``) estimator;
    ``dataset_size`` is N in the estimators, the number of observations in the data set."""

    injected = (*VAE.injected, "dataset_size")
    term_names = ("recon", "kl", "mi", "tc", "dwkl", "loss", "elbo")

    def __init__(
        self,
        model: ModelFactory,
        recon_loss: ReconstructionLoss,
        optimizer: OptimizerFactory,
        image_shape: Sequence[int],
        alpha: float = 1.0,
        beta: float = 6.0,
        gamma: float = 1.0,
        estimator: Estimator = "mss",
        *,
        dataset_size: int,
    ) -> None:
        for name, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
            if not value >= 0:
                raise InvalidInputError(f"{name}={value} is invalid: choose a non-negative number")
        if estimator not in ("mss", "mws"):
            raise InvalidInputError(f"estimator={estimator!r} is invalid: choose 'mss' or 'mws'")
        if dataset_size < 2:
            raise InvalidInputError(f"dataset_size={dataset_size} is invalid: choose an integer >= 2")
        self.alpha, self.beta, self.gamma = alpha, beta, gamma
        self.estimator = estimator
        self.dataset_size = dataset_size
        super().__init__(model, recon_loss, optimizer, image_shape)

    @property
    def reported_beta(self) -> float:
        """The total-correlation weight."""
        return self.beta

    def regularised(
        self, recon: Tensor, kl: Tensor, z: Tensor, mean: Tensor, log_variance: Tensor
    ) -> dict[str, Tensor]:
        parts = decompose_kl(z, mean, log_variance, self.dataset_size, self.estimator)
        reduction, size = self.recon_loss.reduction, self.latent_size
        mi = reduce_sample_totals(parts.mutual_information, size, reduction)
        tc = reduce_sample_totals(parts.total_correlation, size, reduction)
        dwkl = reduce_sample_totals(parts.dimension_wise_kl, size, reduction)
        loss = recon + self.alpha * mi + self.beta * tc + self.gamma * dwkl
        return {"recon": recon, "kl": kl, "mi": mi, "tc": tc, "dwkl": dwkl, "loss": loss}
