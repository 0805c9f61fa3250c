"""The protocols a framework offers the rest of the code: its posterior (``(code, None)`` for a
deterministic autoencoder), the shape of its training batches, and the memory format of its inputs."""

from functools import partial

import torch

from overlapvae.data import XYObject, XYSquares, XYSquaresMinimal
from overlapvae.frameworks import VAE, AdaGVAE, AutoEncoder
from overlapvae.losses import MSELoss
from overlapvae.models import Conv64

IMAGE_SHAPE = (3, 64, 64)


def make(framework):
    torch.manual_seed(0)
    return framework(
        model=partial(Conv64, latent_size=4),
        recon_loss=MSELoss(),
        optimizer=partial(torch.optim.Adam, lr=1e-3),
        image_shape=IMAGE_SHAPE,
    )


def test_an_autoencoders_posterior_is_its_code_with_no_log_variance():
    framework, x = make(AutoEncoder).eval(), torch.rand(3, *IMAGE_SHAPE)
    code, log_variance = framework.posterior(x)
    assert log_variance is None
    assert torch.equal(code, framework.model.encode(x)) and torch.equal(framework.encode(x), code)


def test_a_vaes_posterior_is_the_two_halves_of_its_encoding_and_its_code_the_mean():
    framework, x = make(VAE).eval(), torch.rand(3, *IMAGE_SHAPE)
    mean, log_variance = framework.posterior(x)
    assert torch.equal(torch.cat([mean, log_variance], dim=1), framework.model.encode(x))
    assert torch.equal(framework.encode(x), mean)


def test_pairs_are_trained_as_pairs_and_shown_as_images_in_the_models_layout():
    framework = make(AdaGVAE)
    framework.use_memory_format(torch.channels_last)
    pairs = torch.rand(5, 2, *IMAGE_SHAPE)
    batch = (pairs, torch.zeros(5, 2, 6, dtype=torch.long))
    images = framework.batch_images(batch)
    assert images.shape == (10, *IMAGE_SHAPE) and torch.equal(images, pairs.flatten(0, 1))
    assert images.is_contiguous(memory_format=torch.channels_last)
    prepared = framework.prepare_batch(batch)
    assert prepared.shape == pairs.shape and torch.equal(prepared, pairs)
    assert prepared.stride(2) == 1  # channels last: a pixel's channels side by side
    single = make(VAE)
    assert torch.equal(single.prepare_batch((pairs[:, 0], None)), pairs[:, 0])


def test_the_memory_format_changes_the_layout_not_the_numbers():
    framework, x = make(VAE).eval(), torch.rand(3, *IMAGE_SHAPE)
    before = framework.posterior(x)
    framework.use_memory_format(torch.channels_last)
    assert framework.in_layout(x).is_contiguous(memory_format=torch.channels_last)
    after = framework.posterior(x)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(before, after, strict=True))


def test_only_data_whose_squares_move_on_a_grid_has_a_square_grid():
    assert XYSquares(grid_spacing=4).square_grid() == (4, 8, 15)
    assert XYSquares().square_grid() == (8, 8, 8) == XYSquaresMinimal().square_grid()
    assert XYObject().square_grid() is None
