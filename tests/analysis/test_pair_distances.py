"""Every pair within a traversal, by Gram matrix (losses with a Euclidean embedding) or by shifted
views (the others), equals the loss between the two images."""

import pytest
import torch

from overlapvae.analysis import traversal_pair_distances, upper_pairs
from overlapvae.losses import BCEWithLogitsLoss, KernelLoss, L1Loss, MSELoss

LOSSES = {
    "mse": MSELoss(),
    "l1": L1Loss(),
    "bce": BCEWithLogitsLoss(),
    "mse_box_r2": KernelLoss(base="mse", radius=2, weight=25.0),
    "mse_gau_r3_direct": KernelLoss(base="mse", kernel="gaussian", radius=3, weight=4.0, method="direct"),
    "l1_box_r2": KernelLoss(base="l1", radius=2, weight=25.0),
}


def random_traversals(seed: int, shape=(3, 6, 3, 12, 12)) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def test_exactly_the_squared_losses_have_a_euclidean_embedding():
    images = random_traversals(0)[0]
    has_embedding = {name: loss.euclidean_embedding(images) is not None for name, loss in LOSSES.items()}
    assert has_embedding == {
        "mse": True,
        "l1": False,
        "bce": False,
        "mse_box_r2": True,
        "mse_gau_r3_direct": True,
        "l1_box_r2": False,
    }


@pytest.mark.parametrize("name", ["mse", "mse_box_r2"])
def test_the_embedding_distance_is_the_loss(name):
    loss = LOSSES[name]
    a, b = random_traversals(1)[0], random_traversals(2)[0]
    embedded = (loss.euclidean_embedding(a) - loss.euclidean_embedding(b)).square().sum(dim=(-3, -2, -1))
    torch.testing.assert_close(embedded / a[0].numel(), loss.distance(a, b), rtol=1e-5, atol=0.0)


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_pair_equals_the_loss_between_its_two_images(name):
    images = random_traversals(3)
    first, second = upper_pairs(images.shape[1])
    expected = LOSSES[name].distance(images[:, first], images[:, second])
    result = traversal_pair_distances({name: LOSSES[name]}, images)[name]
    assert result.shape == (3, 15) and result.dtype == torch.float32
    torch.testing.assert_close(result, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["mse", "mse_box_r2"])
def test_identical_images_are_exactly_zero_apart_on_any_scale(name):
    """The Gram form cancels large energies (in float64 with rounding errors far above 0 at this size):
    repeated images must still be 0 apart, not rounding noise."""
    images = 1000.0 + 50.0 * random_traversals(4, shape=(2, 13, 3, 64, 64))
    images[:, 12] = images[:, 0]
    images[:, 7] = images[:, 1]
    result = traversal_pair_distances({name: LOSSES[name]}, images)[name]
    repeated = {(0, 12), (1, 7)}
    pairs = list(zip(*(index.tolist() for index in upper_pairs(images.shape[1])), strict=True))
    is_repeat = torch.tensor([pair in repeated for pair in pairs])
    assert result[:, is_repeat].eq(0).all()
    assert result[:, ~is_repeat].gt(0).all()
