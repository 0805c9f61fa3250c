"""Aggregate training steps/s of a Fig. 9-like grid through the real entry point: the same sweep of
K runs (β-VAE or Ada-GVAE, conv64, z = 9, members differing in grid spacing, β and seed) under
``hydra/launcher=packed`` (one pack of K, with and without fused Adam) against
``hydra/launcher=joblib`` with K processes, in the same script run.

Each sweep is launched twice, to ``--short`` and to ``--long`` steps, and the aggregate rate is
``K · (long − short) / (wall(long) − wall(short))``: start-up (interpreter, imports, building,
the first steps' warm-up and compilation) cancels out. Every sweep trains with the training loop,
the loss logging, checkpoints and the non-finite guard of a real run, without the metrics, health
check and figures (the callbacks kept: ``last_checkpoint`` and ``nonfinite_guard``): those
cost the same packed or not. (A compiled step is timed in ``packed_training.py``: its compilation
takes a varying tens of seconds, which no start-up difference cancels.) Achieved GFLOP/s: the
FLOPs of one member's step (counted on an unpacked step) times the aggregate rate, against a
float32 matmul measured in this process.
The first launcher listed (``--launchers``, default joblib) is the baseline of the ratio column.
Run: ``python benchmarks/packed_sweep.py [--sizes 1 2] [--batch-size 32] [--device cpu]``;
on a GPU: ``--device cuda --sizes 1 8 32 --batch-size 256 --short 200 --long 1200``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from common import matmul_gflops, print_table
from overlapvae.data import XYSquares
from overlapvae.frameworks import AdaGVAE, BetaVAE
from overlapvae.losses import MSELoss
from overlapvae.models import Conv64

SPACINGS = "8,7,6,5,4,3,2,1"
BETAS = "0.0316,0.1,0.316,1.0"
ENTRY_POINT = str(Path(sys.executable).parent / "overlapvae-train")
FRAMEWORKS = {"betavae": BetaVAE, "adagvae": AdaGVAE}
DESCRIPTIONS = {
    "joblib": "joblib, K processes",
    "packed": "packed",
    "fused": "packed, fused Adam",
}


def grid(count: int) -> list[str]:
    """Sweep overrides of ``count`` jobs: spacing × β × seed values, cut to ``count`` jobs."""
    spacings, betas = SPACINGS.split(",")[: min(count, 8)], BETAS.split(",")
    seeds = max(1, -(-count // (len(spacings) * len(betas))))
    betas = betas[: max(1, -(-count // len(spacings)))]
    if len(spacings) * len(betas) * seeds != count:
        raise SystemExit(f"--sizes: choose 1 to 8, or a multiple of 8 up to 32 (not {count})")
    return [
        f"dataset.grid_spacing={','.join(spacings)}",
        f"framework.beta={','.join(betas)}",
        f"seed={','.join(str(seed) for seed in range(seeds))}",
    ]


def sweep_seconds(
    framework: str, count: int, steps: int, launcher: list[str], options: argparse.Namespace
) -> float:
    """Wall time of one sweep of ``count`` jobs trained for ``steps`` steps, in a fresh root."""
    trainer = "trainer=gpu" if options.device == "cuda" else "trainer=cpu"
    command = [
        ENTRY_POINT,
        "-m",
        f"framework={framework}",
        "model.latent_size=9",
        f"datamodule.batch_size={options.batch_size}",
        trainer,
        f"trainer.max_steps={steps}",
        *(f"~callbacks.{name}" for name in ("images", "distances", "health", "progress_bar", "metrics")),
        "logger=csv",
        "+trainer.enable_progress_bar=false",
        "metrics@evaluation.periodic=none",
        "metrics@evaluation.final=none",
        *grid(count),
        *launcher,
    ]
    with tempfile.TemporaryDirectory() as root:
        environment = {**os.environ, "OVERLAPVAE_ROOT": root, "WANDB_MODE": "disabled"}
        start = time.perf_counter()
        done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return seconds


def aggregate_rate(framework: str, count: int, launcher: list[str], options: argparse.Namespace) -> float:
    """Member-steps/s of the sweep, start-up cancelled (median over ``--repeats``)."""
    rates = []
    for _ in range(options.repeats):
        short = sweep_seconds(framework, count, options.short, launcher, options)
        long = sweep_seconds(framework, count, options.long, launcher, options)
        rates.append(count * (options.long - options.short) / (long - short))
    return statistics.median(rates)


def member_step_flops(framework: str, batch_size: int, device: torch.device) -> int:
    """FLOPs of one member's training step (forward and backward) at ``batch_size``."""
    kind = FRAMEWORKS[framework]
    model = kind(
        model=partial(Conv64, latent_size=9),
        recon_loss=MSELoss(),
        optimizer=partial(torch.optim.Adam, lr=1e-3),
        image_shape=(3, 64, 64),
    ).to(device)
    data = XYSquares()
    count = batch_size * (2 if kind is AdaGVAE else 1)
    images = data.render_float(data.sample_factors(count, torch.Generator().manual_seed(0)).to(device))
    if kind is AdaGVAE:
        images = images.unflatten(0, (batch_size, 2))
    with FlopCounterMode(display=False) as counter:
        model.loss_terms(images)["loss"].backward()
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--short", type=int, default=10)
    parser.add_argument("--long", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--frameworks", nargs="+", default=["betavae", "adagvae"])
    parser.add_argument("--launchers", nargs="+", default=["joblib", "packed", "fused"])
    options = parser.parse_args()
    device = torch.device(options.device)
    peak = matmul_gflops(device)
    print(f"device {device}, batch {options.batch_size} per run, float32 matmul {peak:.0f} GFLOP/s")
    launchers = {
        "joblib": lambda k: ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={k}"],
        "packed": lambda k: ["hydra/launcher=packed", f"hydra.launcher.pack_size={k}"],
        "fused": lambda k: [
            "hydra/launcher=packed",
            f"hydra.launcher.pack_size={k}",
            "+optimizer.fused=true",
        ],
    }
    rows = []
    for framework in options.frameworks:
        flops = member_step_flops(framework, options.batch_size, device)
        for count in options.sizes:
            baseline = None
            for name in options.launchers:
                rate = aggregate_rate(framework, count, launchers[name](count), options)
                baseline = baseline or rate
                gflops = flops * rate / 1e9
                rows.append(
                    [
                        framework,
                        count,
                        DESCRIPTIONS[name],
                        f"{rate:.1f}",
                        f"{rate / baseline:.2f}",
                        f"{gflops:.0f} ({100 * gflops / peak:.0f} %)",
                    ]
                )
    print_table(
        ["framework", "K", "launcher", "member-steps/s", "against joblib", "GFLOP/s (of matmul)"], rows
    )


if __name__ == "__main__":
    main()
