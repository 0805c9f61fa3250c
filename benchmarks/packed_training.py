"""Aggregate training steps/s of K conv64 runs trained as one pack (``FrameworkPack``) against the
same K runs stepped one after another in this process, per pack size and framework.

A step of either: each member's batch of XYSquares rendered on the device from its own generator
(members differ in grid spacing and β), the loss terms, the backward pass and Adam. "member-steps/s"
counts one step of one member, so K members stepped once is K member-steps. The achieved GFLOP/s
of a packed step (the FLOPs of its K members' steps over its time) is set against a float32
matmul measured in the same run. Not measured here: the
Lightning loop, callbacks and metrics (``train_speed.py`` measures those for one run).
``--compile-mode`` adds the pack's step compiled (``FrameworkPack.compile_step``; the first calls,
which compile, are not timed).
Run: ``python benchmarks/packed_training.py [--sizes 1 4 8] [--batch-size 64] [--device cuda]``.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
from torch.utils.flop_counter import FlopCounterMode

from common import matmul_gflops, median_seconds, print_table
from overlapvae.data import XYSquares
from overlapvae.frameworks import AdaGVAE, BetaVAE
from overlapvae.frameworks.packed import FrameworkPack, MemberNoise, global_generator_state
from overlapvae.losses import MSELoss
from overlapvae.models import Conv64

SPACINGS = (8, 7, 6, 5, 4, 3, 2, 1)
BETAS = (0.0316, 0.1, 0.316, 1.0)


def members(kind: type, count: int, device: torch.device) -> tuple[list, list[torch.Tensor]]:
    """``count`` frameworks built as runs build them (seed first), and each one's generator state."""
    built, states = [], []
    for index in range(count):
        torch.manual_seed(index)
        framework = kind(
            model=partial(Conv64, latent_size=9),
            recon_loss=MSELoss(),
            optimizer=partial(torch.optim.Adam, lr=1e-3),
            image_shape=(3, 64, 64),
            beta=BETAS[index % len(BETAS)],
        )
        built.append(framework.to(device))
        states.append(global_generator_state(device))
    return built, states


class Renderer:
    """Each member's batches of XYSquares at its own spacing, rendered on the device."""

    def __init__(self, count: int, batch_size: int, pairs: bool, device: torch.device) -> None:
        self.data = [XYSquares(grid_spacing=SPACINGS[index % len(SPACINGS)]) for index in range(count)]
        self.generators = [torch.Generator(device).manual_seed(index) for index in range(count)]
        self.shape = (batch_size, 2) if pairs else (batch_size,)
        self.device = device

    def batch(self, member: int) -> torch.Tensor:
        data, count = self.data[member], torch.Size(self.shape).numel()
        factors = data.sample_factors(count, self.generators[member]).to(self.device)
        return data.render_float(factors).reshape(*self.shape, 3, 64, 64)


def packed_step(
    kind: type, count: int, batch_size: int, device: torch.device, compile_mode: str | None = None
):
    built, states = members(kind, count, device)
    pack = FrameworkPack(built).to(device)
    if compile_mode is not None:
        pack.compile_step(compile_mode)
    noise = MemberNoise(states, device)
    optimizer = torch.optim.Adam(pack.parameters(), lr=1e-3, fused=device.type == "cuda")
    renderer = Renderer(count, batch_size, kind is AdaGVAE, device)

    def step() -> None:
        images = torch.stack([renderer.batch(member) for member in range(count)])
        terms = pack.loss_terms(images, noise.draw(pack.noise_shape(images)))
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].sum().backward()
        optimizer.step()

    return step


def sequential_step(kind: type, count: int, batch_size: int, device: torch.device):
    built, _ = members(kind, count, device)
    optimizers = [
        torch.optim.Adam(framework.parameters(), lr=1e-3, fused=device.type == "cuda") for framework in built
    ]
    renderer = Renderer(count, batch_size, kind is AdaGVAE, device)

    def step() -> None:
        for member, (framework, optimizer) in enumerate(zip(built, optimizers, strict=True)):
            terms = framework.loss_terms(renderer.batch(member))
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            optimizer.step()

    return step


def step_flops(step) -> int:
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--frameworks", nargs="+", default=["betavae", "adagvae"])
    parser.add_argument(
        "--compile-mode", help="also time the pack's step compiled in this torch.compile mode"
    )
    options = parser.parse_args()
    device = torch.device(options.device)
    peak = matmul_gflops(device)
    print(f"device {device}, batch {options.batch_size} per member, float32 matmul {peak:.0f} GFLOP/s")
    kinds = {"betavae": BetaVAE, "adagvae": AdaGVAE}
    rows = []
    for name in options.frameworks:
        for count in options.sizes:
            packed = packed_step(kinds[name], count, options.batch_size, device)
            sequential = sequential_step(kinds[name], count, options.batch_size, device)
            packed_seconds = median_seconds(packed, options.repeats, device)
            sequential_seconds = median_seconds(sequential, options.repeats, device)
            # the work of K members' steps, counted on the unpacked ones (the counter over-counts
            # convolutions under vmap)
            gflops = step_flops(sequential) / packed_seconds / 1e9
            row = [
                name,
                count,
                f"{count / sequential_seconds:.2f}",
                f"{count / packed_seconds:.2f}",
                f"{sequential_seconds / packed_seconds:.2f}",
                f"{gflops:.1f} ({100 * gflops / peak:.0f} %)",
            ]
            if options.compile_mode:
                compiled = packed_step(kinds[name], count, options.batch_size, device, options.compile_mode)
                compiled_seconds = median_seconds(compiled, options.repeats, device, warmup=3)
                row.append(f"{count / compiled_seconds:.2f} ({sequential_seconds / compiled_seconds:.2f})")
            rows.append(row)
    print_table(
        [
            "framework",
            "K",
            "one after another (member-steps/s)",
            "packed (member-steps/s)",
            "packed / one after another",
            "packed GFLOP/s (of matmul)",
            *([f"compiled, {options.compile_mode} (ratio)"] if options.compile_mode else []),
        ],
        rows,
    )


if __name__ == "__main__":
    main()
