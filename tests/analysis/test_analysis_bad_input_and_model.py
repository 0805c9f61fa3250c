"""Bad input gets a clear error; the distances of a model match their definitions."""

from functools import partial

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from overlapvae.analysis import (
    audit_data,
    model_distance_matrices,
    rank_correlation,
    symmetric_kl,
    traversal_distances,
    traversal_factors,
    traversal_model_matrices,
)
from overlapvae.data import XYObject, XYSquares
from overlapvae.frameworks import AutoEncoder, BetaVAE
from overlapvae.losses import BCEWithLogitsLoss, MSELoss, ReconstructionLoss
from overlapvae.models import FullyConnected


class NegatedMSE(ReconstructionLoss):
    def elementwise(self, reconstruction, target, smoothing=0.0):
        return -(reconstruction - target).square()

    def best_constant(self, targets):
        return targets.mean(dim=0)


def test_a_single_valued_factor_names_itself_and_the_fix():
    data = XYObject(min_square_size=9, max_square_size=9)
    with pytest.raises(
        ValueError, match=r"'scale' has a single value.*choose factors that vary \(x, y, color\)"
    ):
        traversal_distances(data, {"mse": MSELoss()}, "scale")
    result = audit_data(data, {"mse": MSELoss()}, num_traversals=2, num_pairs=200, triplets_per_traversal=4)
    assert result.factor_names == ["x", "y", "color"]
    assert set(result.skipped_factors) == {"scale"}
    assert any("skipped scale" in line for line in result.verdict_lines())


def test_a_loss_that_is_not_a_distance_is_refused():
    with pytest.raises(ValueError, match=r"loss 'negated' gives negative values.*not a distance"):
        traversal_distances(XYSquares(grid_spacing=4, grid_size=8), {"negated": NegatedMSE()}, "x_R", 4)


def test_unknown_factor_and_empty_losses():
    data = XYSquares(grid_spacing=8, grid_size=8)
    with pytest.raises(ValueError, match="unknown factor 'z_R': choose from x_R"):
        audit_data(data, {"mse": MSELoss()}, factors=["z_R"])
    with pytest.raises(ValueError, match="no loss to audit"):
        audit_data(data, {})


def test_bce_distance_equals_binary_cross_entropy_of_the_images():
    images, targets = torch.rand(5, 3, 4, 4), (torch.rand(5, 3, 4, 4) > 0.5).float()
    images[0, 0, 0, 0], images[1, 0, 0, 0] = 0.0, 1.0
    expected = torch.nn.functional.binary_cross_entropy(images, targets, reduction="none").mean(dim=(1, 2, 3))
    torch.testing.assert_close(BCEWithLogitsLoss().distance(images, targets), expected, rtol=1e-5, atol=1e-5)


def test_undefined_correlation_is_none_not_nan():
    assert rank_correlation(np.arange(5.0), np.full(5, 0.25)) is None
    assert rank_correlation(np.arange(5.0), np.arange(5.0) ** 2) == pytest.approx(1.0)


def test_symmetric_kl_matches_torch_distributions():
    generator = torch.Generator().manual_seed(0)
    mean_a, mean_b, log_a, log_b = torch.randn(4, 7, 5, generator=generator).unbind(0)
    a, b = Normal(mean_a, (0.5 * log_a).exp()), Normal(mean_b, (0.5 * log_b).exp())
    expected = (0.5 * kl_divergence(a, b) + 0.5 * kl_divergence(b, a)).mean(-1)
    torch.testing.assert_close(symmetric_kl(mean_a, log_a, mean_b, log_b), expected, rtol=1e-5, atol=1e-6)


def framework(kind=BetaVAE, image_shape=(3, 64, 64)):
    torch.manual_seed(0)
    kwargs = {"beta": 0.01} if kind is BetaVAE else {}
    return kind(
        model=partial(FullyConnected, latent_size=3, hidden_sizes=[16]),
        recon_loss=MSELoss(),
        optimizer=partial(torch.optim.Adam, lr=1e-3),
        image_shape=image_shape,
        **kwargs,
    )


def test_model_distances_match_their_definitions_on_one_traversal():
    data = XYSquares(grid_spacing=4, grid_size=8)
    vae = framework()
    matrices = model_distance_matrices(vae, data, True, 1, torch.Generator().manual_seed(3), ["y_G"])["y_G"]
    assert list(matrices) == ["factors", "x", "z", "kl", "x_recon"]
    bases = data.sample_factors(1, torch.Generator().manual_seed(3))
    factors = bases.repeat(8, 1)
    factors[:, 3] = torch.arange(8)
    images = data.render_float(factors)
    with torch.no_grad():
        mean, log_variance = vae.posterior(images)
        decoded = vae.decode(mean)
    i, j = 1, 6
    assert matrices["factors"][i, j] == 5 and matrices["z"][i, j] == matrices["z"][j, i]
    torch.testing.assert_close(matrices["z"][i, j].float(), (mean[i] - mean[j]).norm(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(
        matrices["x"][i, j].float(), (images[i] - images[j]).square().mean(), rtol=1e-5, atol=1e-7
    )
    torch.testing.assert_close(
        matrices["x_recon"][i, j].float(), (decoded[i] - decoded[j]).square().mean(), rtol=1e-5, atol=1e-7
    )
    kl = symmetric_kl(mean[i], log_variance[i], mean[j], log_variance[j])
    torch.testing.assert_close(matrices["kl"][i, j].float(), kl, rtol=1e-5, atol=1e-7)
    assert all(float(m.diagonal().abs().max()) == 0.0 for m in matrices.values())
    assert vae.training  # restored


def test_model_distances_do_not_depend_on_how_many_traversals_share_a_pass():
    data = XYSquares(grid_spacing=4, grid_size=8)
    vae = framework()

    def matrices(batch_size: int) -> dict:
        generator = torch.Generator().manual_seed(5)
        return model_distance_matrices(vae, data, True, 5, generator, ["x_R", "y_B"], batch_size)

    one_at_a_time, three_and_two, all_at_once = matrices(1), matrices(24), matrices(128)
    for factor, columns in all_at_once.items():
        for name, matrix in columns.items():
            torch.testing.assert_close(one_at_a_time[factor][name], matrix, rtol=1e-5, atol=1e-7)
            torch.testing.assert_close(three_and_two[factor][name], matrix, rtol=1e-5, atol=1e-7)


def test_matrices_of_given_traversals_are_the_mean_of_each_traversals_matrices():
    data = XYSquares(grid_spacing=4, grid_size=8)
    vae = framework().eval()
    bases = torch.tensor([[0, 1, 2, 3, 4, 5], [7, 6, 5, 4, 3, 2]])
    traversals = traversal_factors(data, 2, bases)
    both = traversal_model_matrices(vae, data, traversals, standardise=True)
    first = traversal_model_matrices(vae, data, traversals[:1], standardise=True)
    second = traversal_model_matrices(vae, data, traversals[1:], standardise=True)
    assert list(both) == ["factors", "x", "z", "kl", "x_recon"]
    assert torch.equal(both["factors"], (torch.arange(8)[:, None] - torch.arange(8)).abs().double())
    for name, matrix in both.items():
        torch.testing.assert_close(matrix, (first[name] + second[name]) / 2, rtol=1e-6, atol=1e-9)
    assert float(first["z"][0, 7]) != float(second["z"][0, 7])  # the two traversals differ


def test_a_deterministic_model_has_no_kl_column():
    data = XYSquares(grid_spacing=8, grid_size=8)
    matrices = model_distance_matrices(framework(AutoEncoder), data, True, 2, factors=["x_R"])
    assert list(matrices["x_R"]) == ["factors", "x", "z", "x_recon"]


def test_a_model_of_another_image_shape_is_refused():
    with pytest.raises(ValueError, match=r"model takes images of shape \(1, 64, 64\).*renders \(3, 64, 64\)"):
        model_distance_matrices(framework(image_shape=(1, 64, 64)), XYSquares(), True, 2)
