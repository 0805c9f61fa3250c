"""The sub-pixel form equals the transposed convolution it replaces, and is used only without gradients."""

import pytest
import torch
from torch.nn import functional as F

from overlapvae.models.sub_pixel import SubPixelConvTranspose2d


def layer_and_input(in_channels: int, out_channels: int, height: int, width: int, channels_last: bool):
    torch.manual_seed(0)
    layer = SubPixelConvTranspose2d(in_channels, out_channels)
    images = torch.randn(3, in_channels, height, width)
    if channels_last:
        layer = layer.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    return layer, images


def reference(layer: SubPixelConvTranspose2d, images: torch.Tensor) -> torch.Tensor:
    return F.conv_transpose2d(images, layer.weight, layer.bias, stride=2, padding=1)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize(
    ("in_channels", "out_channels", "height", "width"), [(32, 3, 32, 32), (5, 1, 1, 1), (4, 7, 5, 9)]
)
def test_the_sub_pixel_form_equals_the_transposed_convolution(
    in_channels, out_channels, height, width, channels_last
):
    layer, images = layer_and_input(in_channels, out_channels, height, width, channels_last)
    with torch.no_grad():
        expected = reference(layer, images)
        result = layer.sub_pixel(images)
        assert torch.equal(layer(images), result)
    assert result.shape == (3, out_channels, 2 * height, 2 * width)
    torch.testing.assert_close(result, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_sub_pixel_form_equals_the_transposed_convolution_on_cuda():
    layer, images = layer_and_input(32, 3, 32, 32, channels_last=True)
    layer, images = layer.cuda(), images.cuda()
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        torch.testing.assert_close(layer(images), reference(layer, images), rtol=1e-4, atol=1e-4)


def test_with_gradients_it_is_the_ordinary_layer_and_trains():
    layer, images = layer_and_input(6, 3, 4, 4, channels_last=False)
    output = layer(images)
    assert torch.equal(output, reference(layer, images))
    output.square().sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0


def test_it_loads_the_state_of_an_ordinary_transposed_convolution():
    ordinary = torch.nn.ConvTranspose2d(8, 3, kernel_size=4, stride=2, padding=1)
    layer = SubPixelConvTranspose2d(8, 3)
    layer.load_state_dict(ordinary.state_dict())
    images = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(layer(images), ordinary(images), rtol=1e-5, atol=1e-5)
