"""A learnt "disentangling" kernel (the paper's §4, after the thesis behind it): a non-negative 2-D
kernel K such that the perceived distance ``MSE(x_a, x_b) + MSE(K∗x_a, K∗x_b)`` ranks random pairs
of observations like their ground-truth distance ``d_gt``.

Parameterisation ``K = |P| / Σ|P|`` with ``P`` initialised at ``1 + 0.001·N(0, 1)``. The loss is
``1 − ρ_soft`` (ρ_soft: the Pearson correlation of soft ranks of the perceived distances with the
ranks of d_gt, so it is differentiable) plus a symmetry penalty (mean |K − flip(K)| over the
horizontal and vertical flips and the transpose) and ``l2_weight · mean(K²)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from overlapvae.analysis.correlation import rank_correlation
from overlapvae.analysis.distances import ground_truth_distance
from overlapvae.data import GroundTruthData
from overlapvae.losses.kernel import convolve
from overlapvae.utils.validation import InvalidInputError


def soft_rank(values: Tensor, strength: float) -> Tensor:
    """Differentiable ranks (1-based): ``½ + Σ_j sigmoid((v_i − v_j)/strength)``; exact ranks as
    ``strength → 0`` (ties share the average rank)."""
    return 0.5 + torch.sigmoid((values[:, None] - values[None, :]) / strength).sum(dim=1)


def pearson(x: Tensor, y: Tensor) -> Tensor:
    x, y = x - x.mean(), y - y.mean()
    return (x * y).sum() / (x.norm() * y.norm()).clamp_min(torch.finfo(x.dtype).tiny)


def symmetry_penalty(kernel: Tensor) -> Tensor:
    """Mean absolute difference of ``kernel`` from its horizontal and vertical flips and transpose."""
    images = (kernel.flip(-1), kernel.flip(-2), kernel.transpose(-2, -1))
    return torch.stack([(kernel - image).abs().mean() for image in images]).mean()


class LearntKernel(nn.Module):
    """``K = |P| / Σ|P|``, a ``(2r+1)²`` kernel shared by every channel."""

    def __init__(self, radius: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if radius < 0:
            raise InvalidInputError(f"radius={radius} is invalid: choose an integer >= 0")
        size = 2 * radius + 1
        noise = torch.randn(size, size, generator=generator, dtype=torch.float64)
        initial = 1.0 + 0.001 * noise
        self.parameter = nn.Parameter(initial / initial.sum())

    def forward(self) -> Tensor:
        magnitude = self.parameter.abs()
        return magnitude / magnitude.sum()


def perceived_distance(images_a: Tensor, images_b: Tensor, kernel: Tensor) -> Tensor:
    """``MSE(x_a, x_b) + MSE(K∗x_a, K∗x_b)`` per pair (means over C·H·W), in the kernel's dtype."""
    images_a, images_b = images_a.to(kernel.dtype), images_b.to(kernel.dtype)
    pixel = (images_a - images_b).square().mean(dim=(-3, -2, -1))
    blurred = (convolve(images_a - images_b, kernel, "fft")).square().mean(dim=(-3, -2, -1))
    return pixel + blurred


@dataclass
class KernelTraining:
    """The result of :func:`learn_kernel`: the kernel and the rank correlation along the way."""

    kernel: Tensor
    initial_rank_correlation: float | None
    final_rank_correlation: float | None
    history: list[dict[str, float]] = field(default_factory=list)


def random_pair_batch(
    data: GroundTruthData, num_pairs: int, generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor]:
    """[0, 1] images of ``num_pairs`` random pairs and their ground-truth distances."""
    factors = data.sample_factors(2 * num_pairs, generator).view(num_pairs, 2, -1)
    images = data.render_float(factors.flatten(0, 1), standardise=False).view(num_pairs, 2, *data.image_shape)
    return images[:, 0], images[:, 1], ground_truth_distance(factors[:, 0], factors[:, 1]).double()


def evaluate_kernel(data: GroundTruthData, kernel: Tensor, num_pairs: int, seed: int) -> float | None:
    """Spearman ρ of the kernel's perceived distance with d_gt over ``num_pairs`` random pairs."""
    generator = torch.Generator(kernel.device).manual_seed(seed)
    images_a, images_b, truth = random_pair_batch(data, num_pairs, generator)
    with torch.no_grad():
        perceived = perceived_distance(images_a, images_b, kernel)
    return rank_correlation(perceived, truth)


def learn_kernel(
    data: GroundTruthData,
    radius: int,
    steps: int,
    pairs_per_step: int = 4096,
    lr: float = 1e-3,
    rank_strength: float = 0.01,
    symmetry_weight: float = 1.0,
    l2_weight: float = 1e-3,
    evaluation_pairs: int = 4096,
    seed: int = 777,
    device: torch.device | str = "cpu",
) -> KernelTraining:
    """Train a :class:`LearntKernel` with Adam for ``steps`` steps of fresh random pairs."""
    if steps < 1 or pairs_per_step < 2:
        raise InvalidInputError(f"steps={steps} and pairs_per_step={pairs_per_step} must be >= 1 and >= 2")
    device = torch.device(device)
    generator = torch.Generator(device).manual_seed(seed)
    module = LearntKernel(radius, torch.Generator().manual_seed(seed)).to(device)
    optimiser = torch.optim.Adam(module.parameters(), lr=lr)
    evaluation_seed = seed + 1
    initial = evaluate_kernel(data, module().detach(), evaluation_pairs, evaluation_seed)
    history = []
    for step in range(1, steps + 1):
        images_a, images_b, truth = random_pair_batch(data, pairs_per_step, generator)
        kernel = module()
        perceived = perceived_distance(images_a, images_b, kernel)
        scale = perceived.detach().std().clamp_min(1e-12)  # ranks do not care; the temperature does
        correlation = pearson(soft_rank(perceived / scale, rank_strength), soft_rank(truth, 1e-6))
        loss = (
            1.0
            - correlation
            + symmetry_weight * symmetry_penalty(kernel)
            + l2_weight * kernel.square().mean()
        )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        history.append({"step": step, "loss": loss.item(), "soft_rank_correlation": correlation.item()})
    kernel = module().detach()
    final = evaluate_kernel(data, kernel, evaluation_pairs, evaluation_seed)
    return KernelTraining(kernel.cpu(), initial, final, history)
