"""Reconstruction losses against hand-computed values, for every reduction."""

import math

import pytest
import torch

from overlapvae.losses import BCEWithLogitsLoss, L1Loss, MSELoss

RECONSTRUCTION = torch.tensor([[[[1.0, -2.0]]], [[[0.5, 3.0]]]])  # [B=2, C=1, H=1, W=2]
TARGET = torch.tensor([[[[0.0, 0.0]]], [[[1.0, 1.0]]]])


@pytest.mark.parametrize(
    ("loss", "per_element"),
    [
        (MSELoss, [[1.0, 4.0], [0.25, 4.0]]),
        (L1Loss, [[1.0, 2.0], [0.5, 2.0]]),
        (
            BCEWithLogitsLoss,
            [
                [math.log(1 + math.e**1), math.log(1 + math.e**-2)],
                [math.log(1 + math.e**-0.5), math.log(1 + math.e**-3)],
            ],
        ),
    ],
)
def test_values_for_every_reduction(loss, per_element):
    values = torch.tensor(per_element)
    expected = {
        "none": values.view(2, 1, 1, 2),
        "mean": values.mean(),
        "sum": values.sum(),
        "sample_sum": values.sum(dim=1).mean(),
    }
    for reduction, value in expected.items():
        assert torch.allclose(loss(reduction=reduction)(RECONSTRUCTION, TARGET), value, atol=1e-6), reduction


def test_activations_map_decoder_outputs_to_images():
    assert torch.equal(MSELoss().activate(RECONSTRUCTION), RECONSTRUCTION)
    assert torch.allclose(BCEWithLogitsLoss().activate(torch.tensor([0.0])), torch.tensor([0.5]))
    assert BCEWithLogitsLoss.requires_unit_interval_targets and not MSELoss.requires_unit_interval_targets


def test_shape_mismatch_and_unknown_reduction_are_refused():
    with pytest.raises(
        ValueError, match=r"reconstruction shape \(2, 1, 1, 2\) differs from target shape \(2, 2\)"
    ):
        MSELoss()(RECONSTRUCTION, torch.zeros(2, 2))
    with pytest.raises(
        ValueError, match="reduction='average' is invalid: choose one of mean, sum, sample_sum, none"
    ):
        L1Loss(reduction="average")
