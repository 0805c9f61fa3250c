"""The paper's closed forms for XYSquares (§3.5), Table A1's row and the 1-D diagnostic (§2.1)."""

import itertools

import pytest
import torch

from overlapvae.analysis import (
    CONSTANT,
    RANDOM,
    audit_data,
    interval_overlap,
    traversal_distances,
    within_traversal_pairs,
)
from overlapvae.analysis.importance import pair_distances
from overlapvae.data import XYSquares
from overlapvae.losses import L1Loss, MSELoss

LOSSES = {"mse": MSELoss(), "l1": L1Loss()}
ELEMENTS = 3 * 64 * 64


def xysquares(spacing: int) -> XYSquares:
    return XYSquares(grid_spacing=spacing, grid_size=8)


def expected_matrix(spacing: int) -> torch.Tensor:
    """16·min(k·s, 8)/12288 for positions k apart, on the [0, 1] scale."""
    steps = torch.arange(8)
    k = (steps.view(-1, 1) - steps.view(1, -1)).abs()
    return 16.0 * torch.clamp(k * spacing, max=8).to(torch.float64) / ELEMENTS


@pytest.mark.parametrize("spacing", range(1, 9))
def test_traversal_distances_follow_the_closed_form_for_every_factor(spacing):
    data = xysquares(spacing)
    generator = torch.Generator().manual_seed(spacing)
    for factor in data.factor_names:
        distances = traversal_distances(data, LOSSES, factor, num_traversals=16, generator=generator)
        for name in LOSSES:
            every_traversal = distances.per_traversal(distances.perceived[name]).to(torch.float64)
            torch.testing.assert_close(
                every_traversal, expected_matrix(spacing).expand(16, 8, 8), rtol=1e-6, atol=1e-9
            )
        assert torch.equal(distances.matrices()["ground_truth"], expected_matrix(1) * ELEMENTS / 16)


def test_spacing_eight_is_constant_at_every_step_size():
    matrix = traversal_distances(xysquares(8), LOSSES, "y_R", num_traversals=8).matrices()["mse"]
    off_diagonal = matrix[~torch.eye(8, dtype=torch.bool)]
    torch.testing.assert_close(off_diagonal, torch.full_like(off_diagonal, 0.0104167), rtol=0, atol=5e-8)


def test_standardised_distances_scale_by_one_over_the_variance():
    data = xysquares(3)
    raw = traversal_distances(data, {"mse": MSELoss()}, "x_G", 8).matrices()["mse"]
    standardised = traversal_distances(data, {"mse": MSELoss()}, "x_G", 8, standardise=True).matrices()["mse"]
    torch.testing.assert_close(standardised, raw * 65.0, rtol=1e-5, atol=1e-9)


def audit(spacing: int, **kwargs):
    settings = {"num_traversals": 16, "num_pairs": 2000, "triplets_per_traversal": 16} | kwargs
    return audit_data(xysquares(spacing), LOSSES, **settings)


def test_spacing_eight_is_called_constant_with_undefined_correlations():
    result = audit(8)
    for loss in LOSSES:
        for factor in result.factor_names:
            report = result.report(loss, factor)
            assert report.verdict == CONSTANT
            assert report.rank_correlation is None and report.linear_correlation is None
            assert report.std == 0.0 and round(report.mean, 7) == 0.0104167
            assert "cannot order" in report.explanation
    assert all(line.startswith(("[", "  ")) for line in result.verdict_lines())


def test_correlation_is_positive_and_rises_as_spacing_falls():
    rank, linear = [], []
    for spacing in range(7, 0, -1):
        result = audit(spacing, factors=["x_R"])
        report = result.report("mse", "x_R")
        assert report.verdict != CONSTANT and report.rank_correlation > 0
        rank.append(report.rank_correlation)
        linear.append(report.linear_correlation)
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(rank)) and rank[-1] > rank[0]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(linear)) and linear[-1] > linear[0]
    assert rank[-1] == pytest.approx(1.0)  # spacing 1: perceived distance is strictly increasing in |i − j|


def test_triplets_agree_exactly_when_perceived_distance_is_injective_in_the_step():
    assert audit(1, factors=["y_B"]).report("l1", "y_B").triplet_agreement == 1.0


def test_table_a1_xysquares_row():
    result = audit_data(xysquares(8), {"mse": MSELoss()}, factors=["y_R"], num_pairs=50_000, num_traversals=8)
    baseline = result.report("mse", RANDOM)
    assert f"{baseline.mean:.4f} ({baseline.std:.4f})" == "0.0308 (0.0022)"
    generator = torch.Generator().manual_seed(777)
    for factor in xysquares(8).factor_names:
        pairs = pair_distances(
            xysquares(8), LOSSES, *within_traversal_pairs(xysquares(8), factor, 2000, generator)
        )
        for loss in LOSSES:
            mean, std = pairs.summary(loss)
            assert f"{mean:.4f} ({std:.4f})" == "0.0104 (0.0000)"
        assert bool((pairs.ground_truth > 0).all())


PAPER_OVERLAP = {
    1: (5.375, 5.25),
    2: (3.375, 9.25),
    3: (2.469, 11.06),
    4: (1.875, 12.25),
    5: (1.656, 12.69),
    6: (1.438, 13.13),
    7: (1.219, 13.56),
    8: (1.0, 14.0),
}


@pytest.mark.parametrize("spacing", range(1, 9))
def test_one_dimensional_overlap_matches_the_exact_enumeration(spacing):
    result = interval_overlap(spacing)
    overlap, delta = PAPER_OVERLAP[spacing]
    assert result.mean_overlap == pytest.approx(overlap, abs=5.1e-4)  # the table rounds to 3 decimals
    assert result.mean_delta == pytest.approx(delta, abs=5.1e-3)  # and to 2


def test_the_audit_reports_the_overlap_diagnostic_of_its_spacing():
    assert audit(3, factors=["x_R"]).overlap_1d["mean_overlap"] == interval_overlap(3).mean_overlap
