"""Ada-GVAE on hand-built posteriors, the pair sampler's law of changed factors (both modes), and
pairs through the data module."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy import stats

from overlapvae.data import GroundTruthDataModule, XYSquares
from overlapvae.data.pairs import sample_pairs
from overlapvae.frameworks.adagvae import average_shared, shared_latents
from overlapvae.losses.divergence import symmetric_gaussian_kl

SAMPLES = 200_000


def changed_factor_counts(mode, data, seed=0):
    pairs = sample_pairs(data, SAMPLES, torch.Generator().manual_seed(seed), mode)
    return (pairs[:, 0] != pairs[:, 1]).sum(dim=1).numpy()


def chi_square_p(counts, law):
    observed = np.bincount(counts, minlength=len(law))[: len(law)]
    assert observed.sum() == len(counts), "a count fell outside the law's support"
    expected = np.asarray(law) * len(counts)
    keep = expected > 0
    return stats.chisquare(observed[keep], expected[keep]).pvalue


def test_paper_text_pairs_differ_in_exactly_k_factors_with_k_uniform():
    data = XYSquares(grid_spacing=8)  # 6 factors of 8 values
    counts = changed_factor_counts("paper_text", data)
    assert counts.min() == 1 and counts.max() == 6
    assert chi_square_p(counts, [0] + [1 / 6] * 6) > 0.001


def test_paper_code_pairs_follow_the_law_of_the_papers_runs():
    """k = 1 with probability ½, else k_max ~ U{1..F−1}; each of the k resampled factors keeps its
    value with probability 1/8, so the changed count is a mixture of Binomial(k, 7/8)."""
    data, factors = XYSquares(grid_spacing=8), 6
    law_of_k = np.zeros(factors + 1)
    law_of_k[1] += 0.5
    law_of_k[1:factors] += 0.5 / (factors - 1)
    law = np.zeros(factors + 1)
    for k, weight in enumerate(law_of_k):
        law[: k + 1] += weight * stats.binom.pmf(np.arange(k + 1), k, 7 / 8)
    counts = changed_factor_counts("paper_code", data)
    assert counts.max() <= factors - 1  # the exclusive upper bound: never all six
    assert (counts == 0).any()  # a resampled factor may keep its value
    assert chi_square_p(counts, law) > 0.001
    assert law[0] == pytest.approx(0.5 / 8 + 0.5 / 5 * sum(8.0**-k for k in range(1, 6)))


def test_pairs_never_change_a_single_valued_factor():
    data = XYSquares(grid_spacing=8, grid_size=1)  # positions fixed: only... nothing varies
    with pytest.raises(ValueError, match="no pair can differ"):
        sample_pairs(data, 4, torch.Generator().manual_seed(0), "paper_text")


def hand_built_posteriors():
    """Two pairs, three latents. Pair 0: latent 0 identical, 1 slightly apart, 2 far apart.
    Pair 1: latent 2 identical, the others far apart."""
    mean = torch.tensor([[[0.0, 0.0, -2.0], [0.0, 0.2, 2.0]], [[1.0, -1.0, 0.5], [-1.0, 1.5, 0.5]]])
    log_variance = torch.tensor(
        [[[0.0, 0.0, 0.0], [0.0, math.log(2.0), 0.0]], [[0.0, 0.0, math.log(0.5)], [0.0, 0.0, math.log(0.5)]]]
    )
    return mean, log_variance


def test_shared_latents_are_those_below_halfway_between_the_least_and_most_divergent():
    mean, log_variance = hand_built_posteriors()
    delta = symmetric_gaussian_kl(mean[:, 0], log_variance[:, 0], mean[:, 1], log_variance[:, 1])
    # pair 0: δ = (0, ¼[(1 + 0.04)/2 + (2 + 0.04)/1 − 2], ¼[(1 + 16) + (1 + 16) − 2]) = (0, 0.14, 8)
    torch.testing.assert_close(delta[0], torch.tensor([0.0, 0.14, 8.0]))
    assert shared_latents(mean, log_variance).tolist() == [[True, True, False], [False, False, True]]
    assert shared_latents(mean, log_variance, ratio=0.0).tolist() == [
        [False, False, False],
        [False, False, False],
    ]


@pytest.mark.parametrize("mean_mode", ["correct", "paper"])
def test_shared_latents_get_the_averaged_posterior(mean_mode):
    mean, log_variance = hand_built_posteriors()
    shared = shared_latents(mean, log_variance)
    new_mean, new_log_variance = average_shared(mean, log_variance, shared, mean_mode)
    for pair, latent in [(0, 0), (0, 1), (1, 2)]:
        expected_mean = (
            (mean[pair, 0, latent] + mean[pair, 1, latent]) / 2
            if mean_mode == "correct"
            else mean[pair, 1, latent]
        )
        variance = (log_variance[pair, :, latent].exp()).mean()
        for observation in (0, 1):
            assert new_mean[pair, observation, latent] == pytest.approx(expected_mean.item())
            assert new_log_variance[pair, observation, latent].exp() == pytest.approx(variance.item())
    for pair, latent in [(0, 2), (1, 0), (1, 1)]:  # not shared: untouched
        assert torch.equal(new_mean[pair, :, latent], mean[pair, :, latent])
        assert torch.equal(new_log_variance[pair, :, latent], log_variance[pair, :, latent])
    assert new_mean[0, 0, 1].item() == pytest.approx(0.1 if mean_mode == "correct" else 0.2)


def test_posteriors_sharper_than_float32_can_express_stay_finite():
    # σ² = e^-120 underflows to 0 in float32: the shared choice and the average must not divide by it
    mean = torch.tensor([[[0.0, 0.0, 1.0], [0.0, 3.0, 1.0]]])
    log_variance = torch.tensor([[[-120.0, -110.0, -115.0], [-118.0, -110.0, -115.0]]], requires_grad=True)
    shared = shared_latents(mean, log_variance)
    assert shared.tolist() == [[True, False, True]]  # δ = (¼(e² + e⁻² − 2), ≈ 9e47, 0)
    new_mean, new_log_variance = average_shared(mean, log_variance, shared)
    expected = -118.0 + math.log((math.exp(-2.0) + 1.0) / 2.0)
    assert new_log_variance[0, :, 0].tolist() == pytest.approx([expected, expected], abs=1e-5)
    assert new_log_variance[0, :, 2].tolist() == pytest.approx([-115.0, -115.0], abs=1e-5)
    assert new_mean[0, :, 1].tolist() == [0.0, 3.0]  # not shared: untouched
    new_log_variance.sum().backward()
    assert torch.isfinite(log_variance.grad).all()
    # d/dℓ0 of 2·log((e^ℓ0 + e^ℓ1)/2) = 2·e^ℓ0 / (e^ℓ0 + e^ℓ1), the softmax weight, doubled
    assert log_variance.grad[0, 0, 0].item() == pytest.approx(2.0 / (1.0 + math.exp(2.0)), rel=1e-5)


def test_the_data_module_renders_pairs_of_the_sampled_factors():
    data = XYSquares(grid_spacing=4)
    module = GroundTruthDataModule(data, standardise=True, batch_size=32, seed=1, pair_mode="paper_text")
    module.trainer = SimpleNamespace(
        global_rank=0, global_step=0, strategy=SimpleNamespace(root_device=torch.device("cpu"))
    )
    images, pairs = module.sample_batch()
    assert images.shape == (32, 2, 3, 64, 64) and pairs.shape == (32, 2, 6)
    torch.testing.assert_close(images[:, 1], data.render_float(pairs[:, 1], standardise=True))
    assert ((pairs[:, 0] != pairs[:, 1]).sum(dim=1) >= 1).all()
    with pytest.raises(ValueError, match="pair_sampling='pairs' is invalid"):
        GroundTruthDataModule(data, standardise=True, pair_mode="pairs")
