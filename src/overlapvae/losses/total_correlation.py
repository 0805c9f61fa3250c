"""The KL decomposition of Chen et al. (2018, "Isolating Sources of Disentanglement in VAEs"):

    E_x KL(q(z|x) ‖ p(z)) = I(x; z) + KL(q(z) ‖ Π_j q(z_j)) + Σ_j KL(q(z_j) ‖ p(z_j))
                          =   MI     +          TC           +        dimension-wise KL

The aggregate posterior q(z) = (1/N) Σ_n q(z|n) is estimated from the minibatch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from overlapvae.losses.divergence import gaussian_log_density
from overlapvae.utils.validation import InvalidInputError

Estimator = Literal["mss", "mws"]


@dataclass(frozen=True)
class KLDecomposition:
    """Per-sample ``[B]`` Monte-Carlo estimates; they sum to ``log q(z|x) − log p(z)`` exactly."""

    mutual_information: Tensor
    total_correlation: Tensor
    dimension_wise_kl: Tensor


def log_importance_weights(batch_size: int, dataset_size: int, estimator: str) -> Tensor:
    """``[B, B]`` log weights ``w_ij`` of posterior ``j`` in the estimate of ``q(z_i)``.

    ``mws`` (minibatch weighted sampling): every posterior of the batch weighs ``1/B``, so
    ``q̂(z_i)`` is the batch average of ``q(z_i|n_j)``. Chen et al. write this normaliser as
    ``log(N·B)``, which lowers every log-density by ``log N`` and so raises TC by ``(D − 1)·log N``
    (gradients are unaffected); ``1/B`` is the normaliser under which the estimate converges to the
    true TC as the batch grows.

    ``mss`` (minibatch stratified sampling, Chen et al. Appendix C.2), with ``M = B − 1``: the
    sample's own posterior weighs ``1/N``, one other posterior ``(N − M)/(N·M)``, the remaining
    ``M − 1`` weigh ``1/M``; each row sums to 1.
    """
    if estimator not in ("mss", "mws"):
        raise InvalidInputError(f"estimator={estimator!r} is invalid: choose 'mss' or 'mws'")
    if batch_size < 2:
        raise InvalidInputError(
            f"the total-correlation estimators need a batch of at least 2, got {batch_size}"
        )
    if estimator == "mws":
        return torch.full((batch_size, batch_size), -math.log(batch_size))
    if dataset_size < batch_size:
        raise InvalidInputError(
            f"estimator='mss' needs dataset_size >= batch size, got dataset_size={dataset_size} and "
            f"batch size {batch_size}; use estimator='mws' or a smaller batch"
        )
    others = batch_size - 1
    weights = torch.full((batch_size, batch_size), 1.0 / others, dtype=torch.float64)
    rows = torch.arange(batch_size)
    weights[rows, rows] = 1.0 / dataset_size
    weights[rows, (rows + 1) % batch_size] = (dataset_size - others) / (dataset_size * others)
    return weights.log().to(torch.float32)


def decompose_kl(
    z: Tensor, mean: Tensor, log_variance: Tensor, dataset_size: int, estimator: str = "mss"
) -> KLDecomposition:
    """Estimate MI, TC and dimension-wise KL for samples ``z ~ q(z|x)`` of a batch ``[B, D]``."""
    batch_size = z.shape[0]
    log_weights = log_importance_weights(batch_size, dataset_size, estimator).to(z.device, z.dtype)
    log_q_z_given_x = gaussian_log_density(z, mean, log_variance).sum(dim=1)
    log_p_z = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z)).sum(dim=1)
    # pairwise[i, j, d] = log q(z_i,d | n_j)
    pairwise = gaussian_log_density(z.unsqueeze(1), mean.unsqueeze(0), log_variance.unsqueeze(0))
    log_q_z = torch.logsumexp(log_weights + pairwise.sum(dim=2), dim=1)
    log_prod_q_zj = torch.logsumexp(log_weights.unsqueeze(2) + pairwise, dim=1).sum(dim=1)
    return KLDecomposition(
        mutual_information=log_q_z_given_x - log_q_z,
        total_correlation=log_q_z - log_prod_q_zj,
        dimension_wise_kl=log_prod_q_zj - log_p_z,
    )
