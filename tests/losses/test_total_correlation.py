"""The minibatch TC estimators (Chen et al. 2018) on a problem with a closed-form answer.

Posterior means are drawn from N(0, Σ_μ) and every posterior has variance σ², so the aggregate
posterior is N(0, Σ_μ + σ² I) and its total correlation is −½ log(1 − r²), r the correlation of
Σ_μ + σ² I. Both estimators must approach it as the batch grows.
"""

import math

import pytest
import torch

from overlapvae.losses import decompose_kl, gaussian_log_density, log_importance_weights

SIGMA = 0.5
COVARIANCE = torch.tensor([[1.0, 0.8], [0.8, 1.0]], dtype=torch.float64)
CORRELATION = 0.8 / (1.0 + SIGMA**2)
EXACT_TC = -0.5 * math.log(1.0 - CORRELATION**2)
DATASET_SIZE = 10**6


def sample_batch(size, generator):
    mean = (
        torch.randn(size, 2, generator=generator, dtype=torch.float64) @ torch.linalg.cholesky(COVARIANCE).T
    )
    log_variance = torch.full_like(mean, 2 * math.log(SIGMA))
    z = mean + SIGMA * torch.randn(size, 2, generator=generator, dtype=torch.float64)
    return z, mean, log_variance


def mean_tc_estimate(estimator, batch_size, samples=65_536, seed=0):
    generator = torch.Generator().manual_seed(seed)
    estimates = [
        decompose_kl(*sample_batch(batch_size, generator), DATASET_SIZE, estimator).total_correlation.mean()
        for _ in range(samples // batch_size)
    ]
    return float(torch.stack(estimates).mean())


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_estimators_approach_the_exact_total_correlation_as_the_batch_grows(estimator):
    errors = {size: abs(mean_tc_estimate(estimator, size) - EXACT_TC) for size in (8, 1024)}
    assert errors[8] > 0.025  # small batches are visibly biased (mws ≈ +0.03, mss ≈ −0.1)
    assert errors[1024] < 0.015  # EXACT_TC = 0.2635; seeds 0-3 stay within 0.009
    assert errors[1024] < errors[8] / 2


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_decomposition_sums_to_the_monte_carlo_kl(estimator):
    z, mean, log_variance = sample_batch(64, torch.Generator().manual_seed(3))
    parts = decompose_kl(z, mean, log_variance, DATASET_SIZE, estimator)
    log_q = gaussian_log_density(z, mean, log_variance).sum(dim=1)
    log_p = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z)).sum(dim=1)
    total = parts.mutual_information + parts.total_correlation + parts.dimension_wise_kl
    assert torch.allclose(total, log_q - log_p)


def test_stratified_weights_follow_chen_et_al():
    batch, size = 5, 100
    weights = log_importance_weights(batch, size, "mss").double().exp()
    others = batch - 1
    assert torch.allclose(weights.sum(dim=1), torch.ones(batch, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(weights.diagonal(), torch.full((batch,), 1 / size, dtype=torch.float64))
    assert weights[0, 1] == pytest.approx((size - others) / (size * others), rel=1e-6)
    assert weights[0, 2] == pytest.approx(1 / others, rel=1e-6)
    assert torch.allclose(log_importance_weights(4, 100, "mws").exp(), torch.full((4, 4), 0.25))


def test_estimator_arguments_are_checked():
    with pytest.raises(ValueError, match="estimator='xyz'"):
        log_importance_weights(4, 10, "xyz")
    with pytest.raises(ValueError, match="dataset_size=3 and batch size 4"):
        log_importance_weights(4, 3, "mss")
    with pytest.raises(ValueError, match="at least 2"):
        log_importance_weights(1, 10, "mws")
