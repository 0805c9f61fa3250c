"""Gaussian log-densities and the analytic KL against torch.distributions."""

import torch
from torch.distributions import Normal, kl_divergence

from overlapvae.losses import gaussian_log_density, kl_to_standard_normal


def test_log_density_matches_torch_distributions():
    generator = torch.Generator().manual_seed(0)
    z, mean, log_variance = (torch.randn(50, 4, generator=generator, dtype=torch.float64) for _ in range(3))
    expected = Normal(mean, (0.5 * log_variance).exp()).log_prob(z)
    assert torch.allclose(gaussian_log_density(z, mean, log_variance), expected)


def test_kl_matches_torch_distributions_and_vanishes_at_the_prior():
    generator = torch.Generator().manual_seed(1)
    mean, log_variance = (torch.randn(50, 4, generator=generator, dtype=torch.float64) for _ in range(2))
    expected = kl_divergence(Normal(mean, (0.5 * log_variance).exp()), Normal(0.0, 1.0))
    assert torch.allclose(kl_to_standard_normal(mean, log_variance), expected)
    assert torch.equal(kl_to_standard_normal(torch.zeros(3), torch.zeros(3)), torch.zeros(3))
