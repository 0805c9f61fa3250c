"""The reconstruction term's scale, the smoothed start of a kinked loss, and the calibrated decoders
(σ-VAE) against their closed forms: values and gradients."""

import math

import pytest
import torch

from overlapvae.losses import BCEWithLogitsLoss, CalibratedLoss, KernelLoss, L1Loss, MSELoss

torch.manual_seed(0)
OUTPUT = torch.randn(4, 3, 5, 5)
TARGET = torch.randn(4, 3, 5, 5)
ELEMENTS = OUTPUT.numel()


def gradient(loss, output=OUTPUT, target=TARGET):
    output = output.clone().requires_grad_(True)
    value = loss(output, target)
    (grad,) = torch.autograd.grad(value, output)
    return value.detach(), grad


@pytest.mark.parametrize("loss_class", [MSELoss, L1Loss, BCEWithLogitsLoss, KernelLoss, CalibratedLoss])
def test_the_scale_weighs_the_training_term_and_not_the_distance(loss_class):
    target = TARGET.sigmoid() if loss_class is BCEWithLogitsLoss else TARGET
    plain, scaled = loss_class(), loss_class(scale=2.5)
    assert scaled.effective_scale == 2.5
    assert scaled(OUTPUT, target).item() == pytest.approx(2.5 * plain(OUTPUT, target).item(), rel=1e-6)
    scaled.data_scale = 4.0
    assert scaled.effective_scale == 10.0
    assert scaled(OUTPUT, target).item() == pytest.approx(10.0 * plain(OUTPUT, target).item(), rel=1e-6)
    images = target.clamp(0, 1)
    assert torch.equal(scaled.distance(images, images.flip(0)), plain.distance(images, images.flip(0)))


def test_a_scale_that_is_not_positive_is_refused():
    with pytest.raises(ValueError, match=r"scale=0.0 is invalid: choose a positive number"):
        L1Loss(scale=0.0)
    with pytest.raises(ValueError, match=r"smoothing_steps=-1 is invalid"):
        L1Loss(smoothing_steps=-1)


def test_the_smoothed_l1_is_the_expected_penalty_of_uniformly_jittered_errors():
    radius = 0.8
    errors = torch.linspace(-2.0, 2.0, 401, dtype=torch.float64).requires_grad_(True)
    smoothed = L1Loss().elementwise(errors, torch.zeros_like(errors), radius)
    inside = errors.detach().abs() < radius
    expected = torch.where(inside, (errors.detach() ** 2 + radius**2) / (2 * radius), errors.detach().abs())
    assert torch.allclose(smoothed.detach(), expected)
    # E|e + u| for u ~ U(-r, r), by quadrature, at a few errors
    noise = torch.linspace(-radius, radius, 200_001, dtype=torch.float64)
    for error in (0.0, 0.3, -0.79, 1.5):
        assert (error + noise).abs().mean().item() == pytest.approx(
            L1Loss().elementwise(torch.tensor([error], dtype=torch.float64), torch.zeros(1), radius).item(),
            abs=1e-5,
        )
    (grad,) = torch.autograd.grad(smoothed.sum(), errors)
    assert torch.allclose(grad, torch.where(inside, errors.detach() / radius, errors.detach().sign()))
    assert torch.equal(L1Loss().elementwise(errors, torch.zeros_like(errors)), errors.abs())


def test_the_smoothing_radius_falls_linearly_to_zero_and_only_a_kink_is_smoothed():
    l1 = L1Loss(smoothing_steps=100)
    l1.smoothing_start = 8.0
    assert [l1.smoothing_at(step) for step in (0, 25, 50, 100, 500)] == [8.0, 6.0, 4.0, 0.0, 0.0]
    assert L1Loss(smoothing_steps=0).smoothing_at(0) == 0.0
    for smooth in (MSELoss(smoothing_steps=100), BCEWithLogitsLoss(), KernelLoss(), CalibratedLoss("mse")):
        smooth.smoothing_start = 8.0
        assert not smooth.smooths_its_start and smooth.smoothing_at(0) == 0.0
    assert KernelLoss(base="l1").smooths_its_start and CalibratedLoss("l1").smooths_its_start
    mse = MSELoss()
    exact = mse(OUTPUT, TARGET)
    mse.smoothing = 5.0  # a radius set on a loss without a kink changes nothing
    assert torch.equal(mse(OUTPUT, TARGET), exact)


def test_training_uses_the_current_radius_and_distances_stay_exact():
    l1 = L1Loss()
    exact = l1(OUTPUT, TARGET)
    l1.smoothing = 50.0  # every error is inside: the mean of (e² + r²)/(2r)
    expected = ((OUTPUT - TARGET).square() + 50.0**2).div(100.0).mean()
    assert l1(OUTPUT, TARGET) == pytest.approx(expected.item())
    assert torch.equal(l1.sample_errors(OUTPUT, TARGET), (OUTPUT - TARGET).abs().mean(dim=(1, 2, 3)))
    assert torch.equal(l1.distance(OUTPUT, TARGET), (OUTPUT - TARGET).abs().mean(dim=(1, 2, 3)))
    l1.smoothing = 0.0
    assert torch.equal(l1(OUTPUT, TARGET), exact)


def test_the_calibrated_gaussian_is_half_log_mse_plus_a_half_with_the_mse_gradient_over_twice_the_mse():
    value, grad = gradient(CalibratedLoss("mse"))
    mse = (OUTPUT - TARGET).square().mean()
    assert value.item() == pytest.approx(0.5 * math.log(mse.item()) + 0.5, rel=1e-6)
    assert torch.allclose(grad, 2 * (OUTPUT - TARGET) / ELEMENTS / (2 * mse), rtol=1e-5, atol=1e-9)
    # the same gradient as that of ½ log MSE taken through the optimum
    _, through = gradient(lambda output, target: 0.5 * (output - target).square().mean().log())
    assert torch.allclose(grad, through, rtol=1e-5, atol=1e-9)


def test_the_calibrated_laplace_is_log_mae_plus_one_with_the_l1_gradient_over_the_mae():
    value, grad = gradient(CalibratedLoss("l1"))
    mae = (OUTPUT - TARGET).abs().mean()
    assert value.item() == pytest.approx(math.log(mae.item()) + 1.0, rel=1e-6)
    assert torch.allclose(grad, (OUTPUT - TARGET).sign() / ELEMENTS / mae, rtol=1e-5, atol=1e-9)
    _, through = gradient(lambda output, target: (output - target).abs().mean().log())
    assert torch.allclose(grad, through, rtol=1e-5, atol=1e-9)


def test_every_reduction_shares_one_scale_per_call():
    per_element = 0.5 + 0.5 * math.log((OUTPUT - TARGET).square().mean().item())
    assert CalibratedLoss("mse", reduction="sum")(OUTPUT, TARGET).item() == pytest.approx(
        ELEMENTS * per_element, rel=1e-5
    )
    assert CalibratedLoss("mse", reduction="sample_sum")(OUTPUT, TARGET).item() == pytest.approx(
        ELEMENTS / 4 * per_element, rel=1e-5
    )


def test_a_perfect_reconstruction_stays_finite_at_the_floor():
    for base, coefficient in (("mse", 0.5), ("l1", 1.0)):
        value, grad = gradient(CalibratedLoss(base, min_error=1e-6), TARGET, TARGET)
        assert value.item() == pytest.approx(coefficient * math.log(1e-6), rel=1e-6)
        assert torch.isfinite(grad).all()


def test_calibrated_distances_order_pairs_as_their_base_and_are_zero_between_identical_images():
    images = torch.rand(6, 3, 8, 8)
    others = torch.rand(6, 3, 8, 8) * torch.linspace(0.0, 1.0, 6).view(6, 1, 1, 1)
    for base in ("mse", "l1"):
        calibrated = CalibratedLoss(base)
        base_distance = calibrated.base.distance(images, others)
        distance = calibrated.distance(images, others)
        assert torch.equal(distance.argsort(), base_distance.argsort()) and (distance >= 0).all()
        assert torch.equal(calibrated.distance(images, images), torch.zeros(6))
        coefficient = 0.5 if base == "mse" else 1.0
        expected = coefficient * (1 + torch.log(base_distance / 1e-6))
        assert torch.allclose(distance, expected, rtol=1e-5)
    with pytest.raises(ValueError, match=r"base='huber' is invalid: choose one of mse, l1"):
        CalibratedLoss("huber")
    with pytest.raises(ValueError, match=r"min_error=0 is invalid"):
        CalibratedLoss(min_error=0)


def test_best_constants_are_the_mean_the_median_and_the_logit_of_the_mean():
    targets = torch.tensor([0.0, 0.0, 1.0, 0.25, 0.5]).view(5, 1, 1, 1).expand(5, 2, 3, 3)
    assert torch.allclose(MSELoss().best_constant(targets), torch.full((2, 3, 3), 0.35))
    assert torch.equal(L1Loss().best_constant(targets), torch.full((2, 3, 3), 0.25))
    assert torch.allclose(
        BCEWithLogitsLoss().best_constant(targets), torch.full((2, 3, 3), math.log(0.35 / 0.65))
    )
    assert torch.equal(CalibratedLoss("l1").best_constant(targets), L1Loss().best_constant(targets))
    assert torch.equal(KernelLoss(radius=1).best_constant(targets), MSELoss().best_constant(targets))
    # no other constant does better, for any loss
    for loss in (MSELoss(), L1Loss(), BCEWithLogitsLoss(), KernelLoss(radius=1), CalibratedLoss("mse")):
        best = loss.sample_errors(loss.best_constant(targets).expand_as(targets), targets).mean()
        for shift in (-0.05, 0.05):
            shifted = (loss.best_constant(targets) + shift).expand_as(targets)
            assert loss.sample_errors(shifted, targets).mean() >= best


def test_the_fingerprint_ignores_the_scale_and_the_smoothing_and_sees_the_kernel():
    assert L1Loss(scale=3.0, match_scale=True, smoothing_steps=7).fingerprint() == L1Loss().fingerprint()
    assert L1Loss().fingerprint() != MSELoss().fingerprint()
    assert KernelLoss(radius=1).fingerprint() != KernelLoss(radius=2).fingerprint()
    assert CalibratedLoss("mse").fingerprint() != CalibratedLoss("l1").fingerprint()
