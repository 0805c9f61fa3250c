"""Loss against loss in the audit: L1 and MSE order every pair of binary XYSquares images alike (at
every spacing, on either scale), and shaded XYObject images differently."""

import math

import pytest

from overlapvae.analysis import audit_data
from overlapvae.analysis.correlation import ordering_correlation, rank_correlation, tolerant_ranks
from overlapvae.data import XYObjectShaded, XYSquares
from overlapvae.losses import CalibratedLoss, L1Loss, MSELoss

SMALL = {"num_traversals": 8, "num_pairs": 3000, "triplets_per_traversal": 8}


@pytest.mark.parametrize("spacing", range(1, 9))
@pytest.mark.parametrize("standardise", [False, True])
def test_l1_and_mse_order_every_xysquares_pair_alike(spacing, standardise):
    data = XYSquares(grid_spacing=spacing, grid_size=8)
    factors = None if spacing in (1, 8) else ["y_R"]
    audit = audit_data(data, {"mse": MSELoss(), "l1": L1Loss()}, factors, standardise=standardise, **SMALL)
    (comparison,) = audit.comparisons
    assert (comparison.loss, comparison.other) == ("mse", "l1")
    assert comparison.overall == 1.0 and set(comparison.factors.values()) == {1.0}
    assert (
        comparison.same_order and "order every pair alike on this data set (ρ = 1.000)" in comparison.verdict
    )
    assert comparison.scale_ratio == pytest.approx(math.sqrt(65) if standardise else 1.0, rel=1e-5)
    assert "[mse vs l1]" in audit.verdict_lines() and audit.to_json()["comparisons"][0]["same_order"]


def test_shaded_objects_are_ordered_differently_and_the_verdict_names_where():
    audit = audit_data(XYObjectShaded(), {"mse": MSELoss(), "l1": L1Loss()}, **SMALL)
    (comparison,) = audit.comparisons
    assert comparison.overall is not None and comparison.overall < 0.999
    assert not comparison.same_order and min(v for v in comparison.factors.values() if v is not None) < 1.0
    assert (
        "order pairs differently" in comparison.verdict and "follows d_gt more closely" in comparison.verdict
    )
    correlations = comparison.ground_truth_correlation
    assert set(correlations) == {"mse", "l1"} and all(value is not None for value in correlations.values())


def test_calibrated_losses_order_pairs_as_their_base():
    losses = {
        "mse": MSELoss(),
        "mse_calibrated": CalibratedLoss("mse"),
        "l1_calibrated": CalibratedLoss("l1"),
    }
    audit = audit_data(XYObjectShaded(), losses, ["x", "intensity"], **SMALL)
    by_pair = {(c.loss, c.other): c for c in audit.comparisons}
    assert len(by_pair) == 3 and by_pair["mse", "mse_calibrated"].same_order
    assert not by_pair["mse", "l1_calibrated"].same_order


def test_ties_within_float_rounding_are_ties():
    assert list(tolerant_ranks([2.0, 1.0, 1.0 + 1e-9, 3.0])) == [3.0, 1.5, 1.5, 4.0]
    assert rank_correlation([1.0, 2.0, 3.0], [1.0, 1.0 + 1e-9, 1.0]) is None  # constant within rounding
    assert ordering_correlation([5.0, 5.0, 5.0], [1.0, 1.0, 1.0]) == 1.0  # constant with constant
    assert ordering_correlation([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]) is None
    assert ordering_correlation([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0]) == pytest.approx(0.8)
