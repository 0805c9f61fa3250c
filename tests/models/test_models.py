"""conv64 exactly as the paper's Table A3, and the fully-connected test model."""

import math

import pytest
import torch
from torch import nn

from overlapvae.models import Conv64, FullyConnected


def kernel4(fan_in, fan_out):
    return fan_in * fan_out * 16 + fan_out


def linear(fan_in, fan_out):
    return fan_in * fan_out + fan_out


@pytest.mark.parametrize(("channels", "parameters"), [(1, 923_251), (3, 925_301)])
def test_conv64_shapes_and_parameter_count(channels, parameters):
    """z = 25 with (mean, log-variance) heads; the count layer by layer from the paper's Table A3."""
    by_layer = (
        kernel4(channels, 32)
        + kernel4(32, 32)
        + kernel4(32, 64)
        + kernel4(64, 64)
        + linear(1600, 256)
        + linear(256, 50)
        + linear(25, 256)
        + linear(256, 1024)
        + kernel4(64, 64)
        + kernel4(64, 32)
        + kernel4(32, 32)
        + kernel4(32, channels)
    )
    assert by_layer == parameters
    model = Conv64((channels, 64, 64), latent_size=25, encoder_heads=2)
    x = torch.randn(4, channels, 64, 64)
    codes = model.encode(x)
    assert codes.shape == (4, 50)
    assert model.decode(codes[:, :25]).shape == (4, channels, 64, 64)
    assert sum(p.numel() for p in model.parameters()) == parameters


def test_conv64_intermediate_sizes_follow_the_table():
    model = Conv64((3, 64, 64), latent_size=9, encoder_heads=1)
    sizes = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[1:])))
        for m in [*model.encoder, *model.decoder]
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)
    ]
    model.decode(model.encode(torch.randn(2, 3, 64, 64)))
    for hook in hooks:
        hook.remove()
    assert sizes == [
        (32, 33, 33),
        (32, 17, 17),
        (64, 9, 9),
        (64, 5, 5),
        (64, 8, 8),
        (32, 16, 16),
        (32, 32, 32),
        (3, 64, 64),
    ]


def test_weights_are_xavier_normal_and_biases_zero():
    torch.manual_seed(0)
    model = Conv64((3, 64, 64), latent_size=25, encoder_heads=2)
    linear = model.encoder[9]
    assert isinstance(linear, nn.Linear) and linear.weight.shape == (256, 1600)
    expected_std = math.sqrt(2.0 / (1600 + 256))
    assert linear.weight.std().item() == pytest.approx(expected_std, rel=0.02)
    for layer in model.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            assert torch.count_nonzero(layer.bias) == 0


def test_conv64_refuses_other_image_sizes():
    with pytest.raises(ValueError, match="64×64 images, got 32×32; use model=fc"):
        Conv64((3, 32, 32))


def test_fully_connected_any_shape():
    model = FullyConnected((1, 20, 12), latent_size=3, encoder_heads=2, hidden_sizes=(16, 8))
    assert model.encode(torch.randn(5, 1, 20, 12)).shape == (5, 6)
    assert model.decode(torch.randn(5, 3)).shape == (5, 1, 20, 12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"latent_size": 0}, "latent_size=0"),
        ({"encoder_heads": 0}, "encoder_heads=0"),
        ({"hidden_sizes": [0]}, "hidden_sizes"),
    ],
)
def test_invalid_model_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FullyConnected((3, 8, 8), **kwargs)
