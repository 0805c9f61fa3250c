"""XYSquares against its closed forms: grid offsets, perceived distances, standardisation constants."""

import math

import pytest
import torch

from overlapvae.data import XYSquares, XYSquaresMinimal

CENTRED_OFFSETS = {1: 24, 2: 21, 3: 17, 4: 14, 5: 10, 6: 7, 7: 3, 8: 0}


def unit_images(data, factors):
    return data.render(factors).to(torch.float64) / 255.0


def traversal_mse(data, base, factor, step):
    """[0,1]-scale pixel MSE between each base point and the point ``step`` further along ``factor``."""
    moved = base.clone()
    moved[:, factor] += step
    return (unit_images(data, base) - unit_images(data, moved)).square().mean(dim=(1, 2, 3))


def test_size_names_and_shape():
    data = XYSquares()
    assert data.num_observations == 8**6 == 262_144
    assert data.factor_names == ("x_R", "y_R", "x_G", "y_G", "x_B", "y_B")
    assert data.factor_sizes == (8,) * 6
    assert data.image_shape == (3, 64, 64)


@pytest.mark.parametrize(("spacing", "offset"), CENTRED_OFFSETS.items())
def test_grid_offsets_centre_the_grid(spacing, offset):
    assert XYSquares(grid_spacing=spacing, grid_size=8).offset == offset


@pytest.mark.parametrize("spacing", range(1, 9))
def test_perceived_distance_is_16_min_ks_8_over_12288(spacing):
    """Moving one square k steps changes 2·8·min(k·s, 8) pixels of one channel."""
    data = XYSquares(grid_spacing=spacing, grid_size=8)
    generator = torch.Generator().manual_seed(spacing)
    for factor in range(6):
        for step in range(1, 8):
            base = data.sample_factors(16, generator)
            base[:, factor] = torch.randint(0, 8 - step, (16,), generator=generator)
            expected = 16 * min(step * spacing, 8) / 12288
            assert torch.allclose(
                traversal_mse(data, base, factor, step), torch.tensor(expected, dtype=torch.float64)
            )


def test_no_overlap_makes_every_distance_the_same_constant():
    data = XYSquares()
    base = torch.zeros(1, 6, dtype=torch.long)
    distances = {float(traversal_mse(data, base, f, k)) for f in range(6) for k in range(1, 8)}
    assert distances == {128 / 12288}


def test_minimal_and_configurable_layouts_are_identical_everywhere():
    configurable, minimal = XYSquares(grid_spacing=8, grid_size=8), XYSquaresMinimal()
    assert minimal.factor_sizes == configurable.factor_sizes
    for start in range(0, configurable.num_observations, 4096):
        factors = configurable.indices_to_factors(torch.arange(start, start + 4096))
        assert torch.equal(configurable.render(factors), minimal.render(factors))


def test_square_geometry_x_is_columns_and_y_is_rows():
    data = XYSquares(grid_spacing=3, grid_size=8)
    image = data.render(torch.tensor([[2, 5, 0, 0, 7, 1]]))[0]
    top, left = 17 + 3 * 5, 17 + 3 * 2
    red = torch.zeros(64, 64, dtype=torch.uint8)
    red[top : top + 8, left : left + 8] = 255
    assert torch.equal(image[0], red)
    assert image[1, 17:25, 17:25].eq(255).all() and int(image[1].count_nonzero()) == 64
    assert image[2, 20:28, 38:46].eq(255).all() and int(image[2].count_nonzero()) == 64


@pytest.mark.parametrize("spacing", range(1, 9))
def test_standardisation_constants_match_the_paper_at_every_spacing(spacing):
    data = XYSquares(grid_spacing=spacing, grid_size=8)
    assert data.mean == pytest.approx((0.015625,) * 3, abs=1e-15)
    assert data.std == pytest.approx((0.124034734589209,) * 3, abs=1e-15)
    assert data.std[0] == pytest.approx(1 / math.sqrt(65), abs=1e-15)


def test_greyscale_constants_match_the_paper():
    data = XYSquares(rgb=False)
    assert data.mean[0] == pytest.approx(0.046146, abs=5e-7)
    assert data.std[0] == pytest.approx(0.209651, abs=5e-7)


@pytest.mark.parametrize(
    "params",
    [
        {"square_size": 3, "image_size": 10, "grid_spacing": 2, "num_squares": 2, "rgb": False},
        {
            "square_size": 3,
            "image_size": 10,
            "grid_spacing": 1,
            "grid_size": 4,
            "num_squares": 3,
            "rgb": False,
        },
        {
            "square_size": 4,
            "image_size": 12,
            "grid_spacing": 3,
            "num_squares": 2,
            "rgb": True,
            "fill_value": 100,
        },
    ],
)
def test_closed_form_constants_equal_exhaustive_statistics(params, exhaustive_statistics):
    """Mean pixel value and mean per-image std (ddof=1), computed over every image."""
    data = XYSquares(**params)
    mean, per_image_std = exhaustive_statistics(data)
    assert data.mean == pytest.approx(mean, abs=1e-12)
    assert data.std == pytest.approx([s if s > 0 else 1.0 for s in per_image_std], abs=1e-12)


def test_greyscale_overlaps_paint_the_union():
    data = XYSquares(rgb=False, grid_spacing=4)
    image = data.render(torch.tensor([[0, 0, 1, 0, 0, 0]]))[0, 0]
    assert image.unique().tolist() == [0, 255]
    assert int(image.count_nonzero()) == 8 * 12


def test_standardised_render_equals_standardising_the_uint8_render():
    from overlapvae.data import standardise

    for data in (XYSquares(grid_spacing=2), XYSquares(rgb=False), XYSquaresMinimal()):
        factors = data.sample_factors(64, torch.Generator().manual_seed(0))
        expected = standardise(data.render(factors), data.mean, data.std)
        assert torch.allclose(data.render_standardised(factors), expected, atol=1e-5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"grid_spacing": 0}, r"grid_spacing=0 is invalid: .*>= 1"),
        ({"square_size": 70}, r"square_size=70 does not fit: .*image_size=64"),
        ({"num_squares": 0}, r"num_squares=0 is invalid: choose 1, 2 or 3"),
        ({"num_squares": 4}, r"num_squares=4 is invalid"),
        ({"grid_size": 9}, r"grid_size=9 is invalid: .*1 to 8 positions"),
        ({"fill_value": 0}, r"fill_value=0 is invalid: .*1\.\.255"),
        ({"image_size": 0}, r"image_size=0 is invalid"),
    ],
)
def test_invalid_parameters_name_the_value_and_the_valid_range(params, message):
    with pytest.raises(ValueError, match=message):
        XYSquares(**params)
