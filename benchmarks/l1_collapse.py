"""Why L1 collapses on XYSquares, isolated: the paper's conv64 decoder alone, given each image's
true factors as its code, trained to draw the image (no encoder, no KL, no sampling noise).

Variants, each from the same initialisation and data stream: MSE; L1 as it is; L1 with the usual
suspects changed (a leaky decoder, so no unit can die; a 10× smaller learning rate; [0, 1] targets
instead of standardised ones; the decoder started at L1's best constant image with a zero output
layer; the σ-VAE's calibrated Laplace); and L1 with its kink smoothed over the first half of
training (``ReconstructionLoss`` docstring), exact afterwards. Printed per variant: the final L1
error over the best constant image's (1 = no better than ignoring the code), how much the output
varies with the code, the fraction of the last hidden layer's units that are dead (never positive
on the evaluation batch), and the seconds it took. Figures: ``benchmarks/RESULTS.md``.
Run: ``python benchmarks/l1_collapse.py [--steps 500] [--spacing 1]`` (about 8 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from common import print_table
from overlapvae.analysis.baselines import constant_baseline
from overlapvae.data import XYSquares
from overlapvae.losses import CalibratedLoss, L1Loss, MSELoss, ReconstructionLoss
from overlapvae.models import Conv64


@dataclass
class Variant:
    loss: ReconstructionLoss
    standardise: bool = True
    lr: float = 1e-3
    leaky: bool = False
    start_at_constant: bool = False


VARIANTS: dict[str, Callable[[int], Variant]] = {
    "MSE": lambda steps: Variant(MSELoss()),
    "L1": lambda steps: Variant(L1Loss(smoothing_steps=0)),
    "L1, leaky ReLU decoder": lambda steps: Variant(L1Loss(smoothing_steps=0), leaky=True),
    "L1, learning rate 1e-4": lambda steps: Variant(L1Loss(smoothing_steps=0), lr=1e-4),
    "L1, [0, 1] targets": lambda steps: Variant(L1Loss(smoothing_steps=0), standardise=False),
    "L1, started at its best constant image": lambda steps: Variant(
        L1Loss(smoothing_steps=0), start_at_constant=True
    ),
    "L1 calibrated (Laplace)": lambda steps: Variant(CalibratedLoss("l1", smoothing_steps=0)),
    "L1, smoothed start (the fix)": lambda steps: Variant(L1Loss(smoothing_steps=steps // 2)),
}


class Decoder(nn.Module):
    """conv64's decoder from 6 standardised factor values, plus an optional fixed offset image."""

    def __init__(self, image_shape: tuple[int, int, int], leaky: bool) -> None:
        super().__init__()
        self.layers = Conv64(image_shape, latent_size=6).decoder
        if leaky:
            for index, layer in enumerate(self.layers):
                if isinstance(layer, nn.ReLU):
                    self.layers[index] = nn.LeakyReLU(0.01)
        self.register_buffer("offset", torch.zeros(image_shape))

    def forward(self, codes: Tensor) -> Tensor:
        return self.layers(codes) + self.offset

    def last_hidden(self, codes: Tensor) -> Tensor:
        return self.layers[:-1](codes)


def codes(factors: Tensor, size: int) -> Tensor:
    return (factors.float() - (size - 1) / 2) / (size / 3.5)


def train(name: str, variant: Variant, data: XYSquares, steps: int, batch: int) -> list[object]:
    torch.manual_seed(0)
    decoder = Decoder(data.image_shape, variant.leaky)
    loss = variant.loss
    baseline = constant_baseline(data, loss, variant.standardise)
    if loss.smooths_its_start:
        loss.smoothing_start = baseline.value_range
    if variant.start_at_constant:
        decoder.offset.copy_(baseline.image)
        nn.init.zeros_(decoder.layers[-1].weight)
        nn.init.zeros_(decoder.layers[-1].bias)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=variant.lr)
    stream = torch.Generator().manual_seed(1)
    size = data.factor_sizes[0]
    started = time.perf_counter()
    for step in range(steps):
        factors = data.sample_factors(batch, stream)
        loss.smoothing = loss.smoothing_at(step)
        value = loss(decoder(codes(factors, size)), data.render_float(factors, variant.standardise))
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
    seconds = time.perf_counter() - started
    factors = data.sample_factors(512, torch.Generator().manual_seed(2))
    targets = data.render_float(factors, variant.standardise)
    with torch.no_grad():
        outputs = decoder(codes(factors, size))
        hidden = decoder.last_hidden(codes(factors, size))
    error = float(loss.sample_errors(outputs, targets).mean())
    unit_scale = data.std[0] if variant.standardise else 1.0  # the code dependence in [0, 1] units
    dead = float((hidden <= 0).all(dim=(0, 2, 3)).float().mean())
    return [
        name,
        f"{error / baseline.error:.3f}",
        f"{float(outputs.std(dim=0).mean()) * unit_scale:.4f}",
        f"{dead:.2f}",
        f"{seconds:.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--spacing", type=int, default=1)
    arguments = parser.parse_args()
    data = XYSquares(grid_spacing=arguments.spacing, grid_size=8)
    print(
        f"conv64 decoder from the true factors, XYSquares spacing {arguments.spacing}, batch "
        f"{arguments.batch}, {arguments.steps} Adam steps; errors under each variant's own loss"
    )
    rows = [
        train(name, make(arguments.steps), data, arguments.steps, arguments.batch)
        for name, make in VARIANTS.items()
    ]
    print_table(
        ["variant", "error / best constant's", "output std over codes", "dead units", "seconds"], rows
    )


if __name__ == "__main__":
    main()
