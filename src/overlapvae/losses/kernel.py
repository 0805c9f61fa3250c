"""The paper's remedy (its Eq. 11): a reconstruction loss that also compares blurred images,

``L(x̂, x) = L_rec(x̂, x) + α · L_rec(K∗x̂, K∗x)``,

with ``K`` a fixed 2-D kernel applied to each channel by zero-padded (linear, not circular)
convolution, cropped to the image size. ``loss=mse_box_r31`` is the paper's loss exactly: MSE, a
63×63 box normalised to sum 1, α = 63² = 3969, mean over B·C·H·W. Because the kernel is linear,
overlapping squares that a pixel-wise loss sees as equally far apart become graded by distance.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, get_args

import torch
from torch import Tensor
from torch.nn import functional as F

from overlapvae.losses.reconstruction import BCEWithLogitsLoss, L1Loss, MSELoss, ReconstructionLoss
from overlapvae.losses.reduction import Reduction
from overlapvae.utils.validation import InvalidInputError, MissingInputError, check_choice

BASE_LOSSES: dict[str, type[ReconstructionLoss]] = {"mse": MSELoss, "l1": L1Loss, "bce": BCEWithLogitsLoss}
KernelBase = Literal["mse", "l1", "bce"]
KernelShape = Literal["box", "gaussian", "file"]
Normalisation = Literal["sum", "none"]
ConvolutionMethod = Literal["auto", "fft", "direct"]
KERNELS = get_args(KernelShape)
NORMALISATIONS = get_args(Normalisation)
METHODS = get_args(ConvolutionMethod)
#: Kernels at least this wide are convolved by FFT under ``method: auto``: on 64×64 batches FFT beat
#: the direct convolution at every radius from 1 to 31 (benchmarks/kernel_loss.py prints both).
FFT_MIN_KERNEL_SIZE = 3


def box_kernel(radius: int) -> Tensor:
    """A ``(2r+1)²`` box with every entry ``1/(2r+1)²`` (float64)."""
    size = 2 * radius + 1
    return torch.full((size, size), 1.0 / size**2, dtype=torch.float64)


def gaussian_kernel(radius: int) -> Tensor:
    """An isotropic Gaussian with σ = r/4 truncated at 4σ (disent's ``gau_r{R}``), summing to 1."""
    sigma = radius / 4
    half = math.floor(4 * sigma + 0.5)
    offsets = torch.arange(-half, half + 1, dtype=torch.float64)
    line = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = torch.outer(line, line)
    return kernel / kernel.sum()


def load_kernel(path: str | Path) -> Tensor:
    """A kernel saved by ``overlapvae-learn-kernel`` (or any ``torch.save``d 2-D tensor, or a dict
    holding one under ``"kernel"``): square, odd-sized and finite, else an ``InvalidInputError``
    naming it."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"kernel file {path} does not exist: make one with overlapvae-learn-kernel")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # not a torch file, truncated, or holding objects a kernel never has
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        raise InvalidInputError(
            f"kernel_file={path} is not a kernel file ({reason}): make one with overlapvae-learn-kernel"
        ) from error
    kernel = saved["kernel"] if isinstance(saved, dict) else saved
    if not isinstance(kernel, Tensor):
        raise InvalidInputError(f"{path} holds {type(kernel).__name__}, not a kernel tensor")
    kernel = kernel.squeeze()
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise InvalidInputError(
            f"{path} holds a kernel of shape {tuple(kernel.shape)}: it must be 2-D, square, odd-sized"
        )
    if not torch.isfinite(kernel).all():
        raise InvalidInputError(f"{path} holds a kernel with non-finite entries")
    return kernel.to(torch.float64)


def convolve(images: Tensor, kernel: Tensor, method: ConvolutionMethod = "auto") -> Tensor:
    """``K ∗ images`` per channel, zero-padded and cropped to the input size (``[..., H, W]``).

    ``fft``: the full linear convolution by FFT, centre-cropped; ``direct``: ``conv2d`` with the
    flipped kernel and padding r. Both are the same true convolution (identical up to rounding).
    """
    check_choice("method", method, METHODS)
    size = kernel.shape[-1]
    radius = size // 2
    if method == "auto":
        method = "fft" if size >= FFT_MIN_KERNEL_SIZE else "direct"
    height, width = images.shape[-2:]
    kernel = kernel.to(images.dtype)
    if method == "direct":
        flat = images.reshape(-1, 1, height, width)
        out = F.conv2d(flat, kernel.flip(-2, -1)[None, None], padding=radius)
        return out.reshape(images.shape)
    full = (height + size - 1, width + size - 1)
    spectrum = torch.fft.rfft2(images, s=full) * torch.fft.rfft2(kernel, s=full)
    return torch.fft.irfft2(spectrum, s=full)[..., radius : radius + height, radius : radius + width]


class KernelLoss(ReconstructionLoss):
    """``base(x̂, x) + weight · base(K∗x̂, K∗x)`` per element; the kernel is a buffer (no gradient).

    ``kernel``: ``box`` or ``gaussian`` of ``radius``, or ``file`` (``kernel_file``, e.g. a learnt
    kernel); ``normalise: sum`` scales it to sum 1, ``none`` keeps it as given. Activation and the
    [0, 1]-target requirement are the base loss's.
    """

    def __init__(
        self,
        base: KernelBase = "mse",
        kernel: KernelShape = "box",
        radius: int = 31,
        weight: float = 3969.0,
        normalise: Normalisation = "sum",
        kernel_file: str | None = None,
        method: ConvolutionMethod = "auto",
        reduction: Reduction = "mean",
        scale: float = 1.0,
        match_scale: bool = False,
        smoothing_steps: int = 500,
    ) -> None:
        super().__init__(reduction, scale, match_scale, smoothing_steps)
        check_choice("base", base, BASE_LOSSES)
        check_choice("kernel", kernel, KERNELS)
        check_choice("normalise", normalise, NORMALISATIONS)
        check_choice("method", method, METHODS)
        if not weight >= 0:
            raise InvalidInputError(f"weight={weight} is invalid: choose a non-negative number")
        if kernel == "file":
            if kernel_file is None:
                raise InvalidInputError("kernel=file needs kernel_file=<path of a saved kernel>")
            values = load_kernel(kernel_file)
        else:
            if radius < 0:
                raise InvalidInputError(f"radius={radius} is invalid: choose an integer >= 0")
            values = box_kernel(radius) if kernel == "box" else gaussian_kernel(radius)
        if normalise == "sum":
            total = values.sum()
            if total == 0:
                raise InvalidInputError("the kernel sums to 0 and cannot be normalised: use normalise=none")
            values = values / total
        self.base = BASE_LOSSES[base](reduction)
        self.weight = float(weight)
        self.method = method
        self.requires_unit_interval_targets = self.base.requires_unit_interval_targets
        self.has_kink = self.base.has_kink
        self.register_buffer("kernel", values.to(torch.float32))

    def blur(self, images: Tensor) -> Tensor:
        return convolve(images, self.kernel, self.method)

    def elementwise(self, reconstruction: Tensor, target: Tensor, smoothing: float = 0.0) -> Tensor:
        if self.base.depends_on_difference:  # K∗x̂ − K∗x = K∗(x̂ − x): one convolution, not two
            difference = self.blur(reconstruction - target)
            blurred = self.base.elementwise(difference, torch.zeros_like(difference), smoothing)
        else:
            blurred = self.base.elementwise(self.blur(reconstruction), self.blur(target), smoothing)
        return self.base.elementwise(reconstruction, target, smoothing) + self.weight * blurred

    def euclidean_embedding(self, images: Tensor) -> Tensor | None:
        """``[φ(x), √weight · φ(K∗x)]`` over the channels when the base loss has an embedding φ (MSE):
        the blur is linear, so ``‖a − b‖² + weight · ‖K∗a − K∗b‖²`` is one squared ℓ2 distance."""
        plain = self.base.euclidean_embedding(images)
        if plain is None:
            return None
        blurred = self.base.euclidean_embedding(self.blur(images))
        return torch.cat([plain, math.sqrt(self.weight) * blurred], dim=-3)

    def best_constant(self, targets: Tensor) -> Tensor:
        """The base loss's best constant. Exact for an MSE base: both terms are quadratic in the
        constant c and least at the mean (``E‖K∗(c − x)‖² = ‖K∗(c − μ)‖² + E‖K∗(x − μ)‖²``); for L1 and
        BCE bases the blurred term may prefer another constant, so its loss is an upper bound."""
        return self.base.best_constant(targets)

    def activate(self, reconstruction: Tensor) -> Tensor:
        return self.base.activate(reconstruction)

    def as_reconstruction(self, images: Tensor) -> Tensor:
        return self.base.as_reconstruction(images)
