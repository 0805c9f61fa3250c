"""What the fair L1-against-MSE comparison costs: the one-off measurements per data set (the best
constant image behind the run health check, and the scale that matches a loss's random-pair
distances to MSE's) and the per-step cost of the calibrated and smoothed losses against plain MSE
at batch 256, all in this one process.

Per-step figures are medians of repeats, timed in turns, of one conv64 β-VAE training step
(forward, backward, Adam) on standardised XYSquares, each loss from the same weights and batch, and
of the loss alone (forward and backward from a decoder output); ratios are against MSE measured here.
Run: ``python benchmarks/loss_calibration.py [--repeats 15]`` (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

import torch

from common import print_table
from overlapvae.analysis.baselines import constant_baseline, matched_scale
from overlapvae.data import XYObject, XYObjectShaded, XYSquares
from overlapvae.frameworks import BetaVAE
from overlapvae.losses import CalibratedLoss, L1Loss, MSELoss, ReconstructionLoss
from overlapvae.models import Conv64

DATA_SETS = {
    "xysquares (spacing 8)": lambda: XYSquares(grid_spacing=8, grid_size=8),
    "xysquares (spacing 1)": lambda: XYSquares(grid_spacing=1, grid_size=8),
    "xyobject": XYObject,
    "xyobject_shaded": XYObjectShaded,
}


def smoothed_l1() -> L1Loss:
    loss = L1Loss()
    loss.smoothing = 4.0  # halfway through the smoothed start on standardised XYSquares
    return loss


LOSSES = {
    "mse (baseline)": MSELoss,
    "l1": partial(L1Loss, smoothing_steps=0),
    "l1, smoothed start": smoothed_l1,
    "mse_calibrated": partial(CalibratedLoss, "mse"),
    "l1_calibrated": partial(CalibratedLoss, "l1"),
}


def one_off_costs() -> list[list[str]]:
    rows = []
    for name, make in DATA_SETS.items():
        data = make()
        started = time.perf_counter()
        constant_baseline(data, L1Loss(), True)
        baseline_seconds = time.perf_counter() - started
        started = time.perf_counter()
        scale = matched_scale(data, L1Loss(), True)
        scale_seconds = time.perf_counter() - started
        rows.append([name, f"{baseline_seconds:.2f}", f"{scale_seconds:.2f}", f"{scale:.4f}"])
    return rows


def interleaved_medians(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each run, timed in turns (one call of each per round, after one untimed
    round), so a drift in the machine's speed falls on every loss alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_index in range(repeats + 1):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            if round_index:
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def step_costs(repeats: int) -> list[list[str]]:
    data = XYSquares(grid_spacing=8, grid_size=8)
    batch = data.render_float(data.sample_factors(256, torch.Generator().manual_seed(0)))
    output = torch.randn_like(batch, requires_grad=True)
    torch.manual_seed(0)
    weights = BetaVAE(
        partial(Conv64, latent_size=9), MSELoss(), torch.optim.Adam, data.image_shape
    ).state_dict()
    steps, losses_only = {}, {}
    for name, make in LOSSES.items():
        loss: ReconstructionLoss = make()
        framework = BetaVAE(
            partial(Conv64, latent_size=9), loss, torch.optim.Adam, data.image_shape, beta=0.001
        )
        framework.load_state_dict(weights)
        optimizer = framework.configure_optimizers()

        def step(framework=framework, optimizer=optimizer) -> None:
            optimizer.zero_grad(set_to_none=True)
            framework.loss_terms(batch)["loss"].backward()
            optimizer.step()

        steps[name] = step
        losses_only[name] = partial(lambda loss: torch.autograd.grad(loss(output, batch), output), loss)
    step_seconds = interleaved_medians(steps, repeats)
    loss_seconds = interleaved_medians(losses_only, repeats * 4)
    baseline = next(iter(LOSSES))
    return [
        [
            name,
            f"{step_seconds[name] * 1e3:.0f}",
            f"{step_seconds[name] / step_seconds[baseline]:.3f}",
            f"{loss_seconds[name] * 1e3:.2f}",
            f"{loss_seconds[name] / loss_seconds[baseline]:.2f}",
        ]
        for name in LOSSES
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    arguments = parser.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("\nOne-off measurements per data set (standardised, L1; cached afterwards):")
    print_table(["data set", "best constant image (s)", "matched scale (s)", "L1 scale"], one_off_costs())
    print(f"\nPer-step cost at batch 256 (median of {arguments.repeats} training steps, timed in turns):")
    print_table(
        ["loss", "β-VAE step (ms)", "ratio to MSE", "loss forward+backward (ms)", "ratio to MSE"],
        step_costs(arguments.repeats),
    )


if __name__ == "__main__":
    main()
