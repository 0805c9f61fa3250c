"""The best constant image and the matched scale against their closed forms on XYSquares, and the
cache that keeps them."""

import math

import pytest
import torch

import overlapvae.analysis.baselines as baselines
from overlapvae.analysis.baselines import (
    cached_constant_baseline,
    cached_matched_scale,
    constant_baseline,
    matched_scale,
)
from overlapvae.data import XYObjectShaded, XYSquares
from overlapvae.losses import BCEWithLogitsLoss, CalibratedLoss, KernelLoss, L1Loss, MSELoss

SIGMA = 1 / math.sqrt(65)  # XYSquares' std (the paper's Table A2)


def coverage(data: XYSquares) -> torch.Tensor:
    """``[H, W]``: the probability that a pixel of one channel is inside its square, by enumeration."""
    starts = data.offset + data.grid_spacing * torch.arange(data.positions)
    pixels = torch.arange(data.image_shape[-1])
    inside = (pixels[None] >= starts[:, None]) & (pixels[None] < starts[:, None] + data.square_size)
    line = inside.double().mean(dim=0)
    return line[:, None] * line[None, :]


@pytest.mark.parametrize("spacing", [1, 4, 8])
def test_constant_baselines_on_standardised_xysquares_match_their_closed_forms(spacing):
    data = XYSquares(grid_spacing=spacing, grid_size=8)
    p = coverage(data)
    pixels = p.numel()
    l1 = float(torch.minimum(p, 1 - p).sum() / SIGMA / pixels)  # mean |x − median|
    mse = float((p * (1 - p)).sum() / SIGMA**2 / pixels)  # the per-pixel variance
    if spacing == 8:
        assert l1 == pytest.approx(64 / SIGMA / 4096)  # 0.126: every square pixel costs 1/σ
    if spacing == 1:
        assert l1 == pytest.approx(0.1006, abs=5e-5)  # the square's centre is foreground in most images
    assert constant_baseline(data, L1Loss(), True).error == pytest.approx(l1, rel=0.01)
    assert constant_baseline(data, MSELoss(), True).error == pytest.approx(mse, rel=0.01)
    assert constant_baseline(data, CalibratedLoss("l1"), True).error == pytest.approx(l1, rel=0.01)
    baseline = constant_baseline(data, L1Loss(), False)
    assert baseline.error == pytest.approx(l1 * SIGMA, rel=0.01) and baseline.value_range == 1.0
    assert constant_baseline(data, L1Loss(), True).value_range == pytest.approx(1 / SIGMA, rel=1e-6)


def test_the_bce_and_kernel_baselines_take_their_best_constants():
    data = XYSquares(grid_spacing=8, grid_size=8)
    p = coverage(data).clamp(1e-30, 1 - 1e-30)
    entropy = float((-(p * p.log() + (1 - p) * (1 - p).log())).mean())
    assert constant_baseline(data, BCEWithLogitsLoss(), False).error == pytest.approx(entropy, rel=0.02)
    kernel = constant_baseline(data, KernelLoss(radius=3, weight=10.0), True)
    assert kernel.error > constant_baseline(data, MSELoss(), True).error  # the blurred term adds to it


@pytest.mark.parametrize("spacing", [1, 8])
def test_the_matched_scale_is_the_step_between_the_two_values_of_binary_images(spacing):
    data = XYSquares(grid_spacing=spacing, grid_size=8)
    assert matched_scale(data, L1Loss(), True) == pytest.approx(math.sqrt(65), rel=1e-6)
    assert matched_scale(data, L1Loss(), False) == pytest.approx(1.0, rel=1e-6)
    assert matched_scale(data, MSELoss(), True) == pytest.approx(1.0, rel=1e-12)


def test_graded_images_have_a_scale_of_their_own():
    scale = matched_scale(XYObjectShaded(), L1Loss(), False, num_pairs=2000)
    assert 0.0 < scale < 1.0  # shaded colours: squared differences below 1 shrink more than absolute ones


def test_measurements_are_cached_per_data_set_loss_and_standardisation(tmp_path, monkeypatch):
    calls = []
    real = baselines.matched_scale
    monkeypatch.setattr(baselines, "matched_scale", lambda *a, **k: calls.append(a) or real(*a, **k))
    data = XYSquares(grid_spacing=8, grid_size=8)
    first = cached_matched_scale(data, L1Loss(), True, tmp_path)
    assert cached_matched_scale(data, L1Loss(scale=3.0), True, tmp_path) == first and len(calls) == 1
    assert cached_matched_scale(data, L1Loss(), False, tmp_path) == pytest.approx(1.0) and len(calls) == 2
    cached_matched_scale(XYSquares(grid_spacing=4, grid_size=8), L1Loss(), True, tmp_path)
    cached_matched_scale(data, CalibratedLoss("l1"), True, tmp_path)
    assert len(calls) == 4
    files = sorted((tmp_path / "matched_scale").glob("*.pt"))
    assert len(files) == 4
    for file in files:
        file.write_bytes(b"truncated")
    assert cached_matched_scale(data, L1Loss(), True, tmp_path) == first and len(calls) == 5
    assert cached_matched_scale(data, L1Loss(), True, None) == first and len(calls) == 6  # no cache dir


def test_the_cached_baseline_keeps_the_constant_image(tmp_path):
    data = XYSquares(grid_spacing=1, grid_size=8)
    fresh = constant_baseline(data, L1Loss(), True)
    stored = cached_constant_baseline(data, L1Loss(), True, tmp_path)
    again = cached_constant_baseline(data, L1Loss(), True, tmp_path)
    assert torch.equal(stored.image, fresh.image) and torch.equal(again.image, fresh.image)
    assert again.error == fresh.error and again.value_range == fresh.value_range


def test_a_loss_that_sees_no_difference_cannot_be_matched():
    data = XYSquares(grid_spacing=8, grid_size=1, num_squares=1)  # one observation
    with pytest.raises(ValueError, match=r"sees no difference.*set match_scale=false"):
        matched_scale(data, L1Loss(), False, num_pairs=10)
