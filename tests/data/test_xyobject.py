"""XYObject and XYObjectShaded against disent's definitions and constants."""

import pytest
import torch

from overlapvae.data import XYObject, XYObjectShaded

CHUNK = 5000


def test_factor_sizes_and_count():
    assert XYObject().factor_sizes == (25, 25, 5, 24)
    assert XYObject().factor_names == ("x", "y", "scale", "color")
    assert XYObjectShaded().factor_sizes == (25, 25, 5, 4, 6)
    assert XYObjectShaded().factor_names == ("x", "y", "scale", "intensity", "color")
    assert XYObject().num_observations == XYObjectShaded().num_observations == 75_000


def test_palette_is_brightness_major_with_integer_division():
    palette = XYObject().palette()
    assert palette[:6].tolist() == [[63, 0, 0], [63, 63, 0], [0, 63, 0], [0, 63, 63], [0, 0, 63], [63, 0, 63]]
    assert palette[[6, 12, 18]].tolist() == [[127, 0, 0], [191, 0, 0], [255, 0, 0]]


def test_square_placement_and_colour():
    image = XYObject().render(torch.tensor([[3, 5, 0, 7]]))[0]  # size 7, yellow at level 2 (127)
    expected = torch.zeros(3, 64, 64, dtype=torch.uint8)
    expected[0:2, 14:21, 10:17] = 127  # top = 2·5 + (15 − 7)//2, left = 2·3 + 4
    assert torch.equal(image, expected)


def test_shaded_and_plain_render_the_same_images():
    plain, shaded = XYObject(), XYObjectShaded()
    for start in range(0, shaded.num_observations, CHUNK):
        factors = shaded.indices_to_factors(torch.arange(start, start + CHUNK))
        colour = factors[:, 3] * 6 + factors[:, 4]
        plain_factors = torch.cat([factors[:, :3], colour[:, None]], dim=1)
        assert torch.equal(shaded.render(factors), plain.render(plain_factors))


def test_constants_match_the_paper_and_exhaustive_statistics(exhaustive_statistics):
    data = XYObject()
    assert data.mean == pytest.approx((0.0098188,) * 3, abs=5e-8)
    assert data.std == pytest.approx((0.0526324,) * 3, abs=5e-8)
    mean, per_image_std = exhaustive_statistics(data)
    assert data.mean == pytest.approx(mean, abs=1e-12)
    assert data.std == pytest.approx(per_image_std, abs=1e-12)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"grid_spacing": 0}, "grid_spacing=0"),
        ({"min_square_size": 9, "max_square_size": 7}, "square sizes 9..7"),
        ({"max_square_size": 80}, "image_size=64"),
        ({"brightness_levels": 0}, "brightness_levels=0"),
        ({"square_size_step": 0}, "square_size_step=0"),
    ],
)
def test_invalid_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        XYObject(**params)
