"""The kernel (blurred) reconstruction losses: the paper's §3.5 row, FFT = direct, true convolution,
no gradient to the kernel, the audit's verdict, and bad kernels."""

import pytest
import torch

from overlapvae.analysis import audit_data
from overlapvae.data import XYSquares
from overlapvae.losses import KernelLoss, MSELoss, box_kernel, convolve, gaussian_kernel, load_kernel

PAPER_ROW = [0.0, 0.0313, 0.0623, 0.0933, 0.1282, 0.1593, 0.1903, 0.2213]  # PAPER §3.5, [0, 1] scale


def x_traversal(data, y):
    factors = torch.zeros(data.factor_sizes[0], len(data.factor_sizes), dtype=torch.long)
    factors[:, 0] = torch.arange(data.factor_sizes[0])
    factors[:, 1] = y
    return data.render_float(factors, standardise=False)


def test_the_papers_box_loss_reproduces_its_row_along_x_at_spacing_8():
    data, loss = XYSquares(grid_spacing=8), KernelLoss()
    rows = []
    for y in range(8):
        images = x_traversal(data, y)
        rows.append(loss.distance(images, images[:1].expand_as(images)))
    assert torch.stack(rows).mean(0).tolist() == pytest.approx(PAPER_ROW, abs=5e-5)
    plain = MSELoss().distance(images, images[:1].expand_as(images))
    assert plain[1:].tolist() == pytest.approx([16 * 8 / 12288] * 7)  # the pixel term alone is constant


@pytest.mark.parametrize(
    "kernel", [box_kernel(31), gaussian_kernel(7), torch.rand(9, 9, dtype=torch.float64)]
)
def test_fft_and_direct_convolution_agree(kernel):
    images = torch.randn(5, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    fft, direct = convolve(images, kernel.float(), "fft"), convolve(images, kernel.float(), "direct")
    assert fft.shape == images.shape
    torch.testing.assert_close(fft, direct, atol=2e-5, rtol=1e-4)


def test_it_is_a_zero_padded_true_convolution():
    kernel = torch.arange(25, dtype=torch.float32).reshape(5, 5)  # asymmetric
    impulse = torch.zeros(1, 1, 16, 16)
    impulse[0, 0, 8, 8] = 1.0
    for method in ("fft", "direct"):
        response = convolve(impulse, kernel, method)[0, 0]
        torch.testing.assert_close(response[6:11, 6:11], kernel, atol=1e-5, rtol=0)  # not flipped
        assert response.sum().item() == pytest.approx(kernel.sum().item(), rel=1e-5)
    corner = torch.zeros(1, 1, 16, 16)
    corner[0, 0, 0, 0] = 1.0  # mass blurred past the border is lost, never wrapped around
    wrapped = convolve(corner, box_kernel(2).float(), "fft")[0, 0]
    assert wrapped[-1, -1].item() == pytest.approx(0.0, abs=1e-7)
    assert wrapped.sum().item() == pytest.approx(9 / 25, rel=1e-5)


def test_kernels_have_the_documented_shapes_and_the_kernel_gets_no_gradient():
    assert box_kernel(31).shape == (63, 63) and box_kernel(31).sum().item() == pytest.approx(1.0)
    gaussian = gaussian_kernel(31)
    assert gaussian.shape == (63, 63) and gaussian.sum().item() == pytest.approx(1.0)
    assert gaussian[31, 31] == gaussian.max()
    loss = KernelLoss()
    assert list(loss.parameters()) == [] and "kernel" in dict(loss.named_buffers())
    reconstruction = torch.randn(2, 3, 64, 64, requires_grad=True)
    loss(reconstruction, torch.randn(2, 3, 64, 64)).backward()
    assert reconstruction.grad is not None and loss.kernel.grad is None


def test_the_audit_no_longer_calls_overlap_free_xysquares_constant():
    audit = audit_data(
        XYSquares(grid_spacing=8),
        {"mse": MSELoss(), "mse_box_r31": KernelLoss()},
        num_traversals=16,
        num_pairs=2000,
    )
    factors = [r for r in audit.reports if r.factor != "random"]
    assert {r.verdict for r in factors if r.loss == "mse"} == {"constant"}
    assert {r.verdict for r in factors if r.loss == "mse_box_r31"} == {"ordered"}
    assert min(r.rank_correlation for r in factors if r.loss == "mse_box_r31") > 0.9


def test_bad_kernels_are_refused_with_the_fix(tmp_path):
    with pytest.raises(ValueError, match="kernel=file needs kernel_file"):
        KernelLoss(kernel="file")
    with pytest.raises(FileNotFoundError, match="overlapvae-learn-kernel"):
        KernelLoss(kernel="file", kernel_file=str(tmp_path / "missing.pt"))
    torch.save(torch.ones(4, 4), tmp_path / "even.pt")
    with pytest.raises(ValueError, match=r"shape \(4, 4\): it must be 2-D, square, odd-sized"):
        load_kernel(tmp_path / "even.pt")
    with pytest.raises(ValueError, match="kernel='blurry' is invalid"):
        KernelLoss(kernel="blurry")
    torch.save({"kernel": torch.zeros(3, 3)}, tmp_path / "zero.pt")
    with pytest.raises(ValueError, match="sums to 0"):
        KernelLoss(kernel="file", kernel_file=str(tmp_path / "zero.pt"))
    assert (
        KernelLoss(kernel="file", kernel_file=str(tmp_path / "zero.pt"), normalise="none").kernel.sum() == 0
    )


@pytest.mark.parametrize("base", ["mse", "l1", "bce"])
def test_the_blurred_term_is_the_base_loss_between_blurred_images(base):
    loss = KernelLoss(base=base, radius=3, weight=2.0)
    generator = torch.Generator().manual_seed(1)
    reconstruction = torch.randn(2, 3, 16, 16, generator=generator)
    target = torch.rand(2, 3, 16, 16, generator=generator)
    blurred = loss.base.elementwise(loss.blur(reconstruction), loss.blur(target))
    expected = loss.base.elementwise(reconstruction, target) + 2.0 * blurred
    torch.testing.assert_close(loss.elementwise(reconstruction, target), expected, atol=1e-5, rtol=1e-5)
