"""The ground-truth base class: index ↔ factors, seeded uniform sampling, factor checks."""

import pytest
import torch

from overlapvae.data import XYObject, XYSquares


@pytest.fixture(params=[XYSquares(grid_spacing=4, grid_size=5), XYObject()], ids=["xysquares", "xyobject"])
def data(request):
    return request.param


def test_every_index_round_trips_through_factors(data):
    indices = torch.arange(data.num_observations)
    factors = data.indices_to_factors(indices)
    assert factors.shape == (data.num_observations, data.num_factors)
    assert torch.equal(data.factors_to_indices(factors), indices)


def test_unravel_is_row_major_with_the_last_factor_fastest():
    data = XYSquares()
    assert data.indices_to_factors(torch.tensor([0, 1, 8, 8**5, 8**6 - 1])).tolist() == [
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1, 0],
        [1, 0, 0, 0, 0, 0],
        [7, 7, 7, 7, 7, 7],
    ]


def test_sampling_is_seeded_and_in_range(data):
    first = data.sample_factors(500, torch.Generator().manual_seed(3))
    second = data.sample_factors(500, torch.Generator().manual_seed(3))
    other = data.sample_factors(500, torch.Generator().manual_seed(4))
    assert torch.equal(first, second)
    assert not torch.equal(first, other)
    data.check_factors(first)
    assert (first.min(dim=0).values == 0).all()


def test_sampling_is_uniform_over_each_factor():
    data = XYSquares()
    factors = data.sample_factors(64_000, torch.Generator().manual_seed(0))
    counts = torch.stack([torch.bincount(factors[:, i], minlength=8) for i in range(6)]).float()
    expected = 64_000 / 8
    chi_square = ((counts - expected) ** 2 / expected).sum(dim=1)
    assert (chi_square < 30).all()  # 7 degrees of freedom: p < 1e-4 for 30


def test_out_of_range_factors_are_named():
    data = XYSquares()
    factors = torch.zeros(3, 6, dtype=torch.long)
    factors[1, 3] = 8
    with pytest.raises(ValueError, match=r"'y_G'.*\[0, 8\)"):
        data.check_factors(factors)


def test_wrong_factor_shape_or_dtype_is_refused():
    data = XYSquares()
    with pytest.raises(ValueError, match="last dimension 6"):
        data.render(torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"torch\.long"):
        data.render(torch.zeros(2, 6))
