"""Training steps/s of the conv64 β-VAE through the real Lightning path, per trainer option.

Every option runs in this one process and is reported as a ratio to the plain eager float32
NCHW configuration measured here, with achieved GFLOP/s against a float32 matmul measured here
too, and at batch 256 on a CPU against the disent library's conv64 β-VAE trained by Lightning on its
XYSquares DataLoader (2 workers): measured here when disent is installed (``disent_reference.py``),
else the 1.25 steps/s recorded for the project's 2-core CPU machines.
Run: ``python benchmarks/train_speed.py``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from lightning.pytorch.callbacks import Callback
from torch.utils.flop_counter import FlopCounterMode

from common import matmul_gflops, print_table, synchronise
from disent_reference import reference_figure, training_steps_per_second
from overlapvae.data import XYSquares
from overlapvae.experiment.hydra_setup import config_dir, register
from overlapvae.experiment.jobs.train import build

register()  # the schemas and resolvers the train config composes with

RECORDED_DISENT_STEPS_PER_SECOND = 1.25  # disent, batch 256, the project's 2-core CPU machines


class StepClock(Callback):
    """Wall time of the steps after ``warmup`` (device-synchronised at both ends)."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.start = 0.0
        self.seconds = 0.0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module, batch, batch_idx: int) -> None:
        if trainer.global_step == self.warmup:
            synchronise(pl_module.device)
            self.start = time.perf_counter()

    def on_train_end(self, trainer: L.Trainer, pl_module) -> None:
        synchronise(pl_module.device)
        self.seconds = time.perf_counter() - self.start


def variants(device: str) -> dict[str, list[str]]:
    base = [f"trainer={'gpu' if device == 'cuda' else 'cpu'}"]
    options = {
        "eager fp32 NCHW (baseline)": [*base, "trainer.memory_format=contiguous"],
        "channels_last": [*base, "trainer.memory_format=channels_last"],
        "compile": [*base, "trainer.memory_format=contiguous", "trainer.compile=true"],
        "compile + channels_last": [*base, "trainer.memory_format=channels_last", "trainer.compile=true"],
    }
    if device == "cuda":  # bf16 autocast is for GPUs only: ~10x slower on CPUs without bf16 units
        options["bf16-mixed + channels_last"] = [
            *base,
            "trainer.memory_format=channels_last",
            "trainer.precision=bf16-mixed",
        ]
    return options


def steps_per_second(overrides: list[str], batch_size: int, steps: int, warmup: int) -> float:
    with tempfile.TemporaryDirectory() as output_dir, initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                *overrides,
                f"datamodule.batch_size={batch_size}",
                f"trainer.max_steps={warmup + steps}",
                "trainer.log_every_n_steps=50",
                "+trainer.enable_progress_bar=false",
                "logger=none",
                "callbacks=none",
                f"paths.output_dir={output_dir}",
            ],
        )
        run = build(cfg)
        clock = StepClock(warmup)
        run.trainer.callbacks.append(clock)
        run.trainer.fit(run.framework, datamodule=run.datamodule)
        return steps / clock.seconds


def flops_per_step(batch_size: int, device: str) -> float:
    """Forward + backward FLOPs of one training step, counted by torch's flop counter."""
    with tempfile.TemporaryDirectory() as output_dir, initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                f"datamodule.batch_size={batch_size}",
                "logger=none",
                "callbacks=none",
                f"paths.output_dir={output_dir}",
            ],
        )
        run = build(cfg)
        framework = run.framework.to(device)
        data = run.datamodule.data
        images = data.render_standardised(
            data.sample_factors(batch_size, torch.Generator().manual_seed(0)).to(device)
        )
        with FlopCounterMode(display=False) as counter:
            framework.loss_terms(images)["loss"].backward()
        return float(counter.get_total_flops())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 64])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    peak = matmul_gflops(torch.device(device))
    print(
        f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, "
        f"float32 matmul peak {peak:.0f} GFLOP/s"
    )
    disent, source = RECORDED_DISENT_STEPS_PER_SECOND, "disent, recorded"
    if device == "cpu":
        disent, source = reference_figure(
            lambda: statistics.median(
                training_steps_per_second(
                    XYSquares(grid_spacing=8, grid_size=8), 256, StepClock(args.warmup), args.steps
                )
                for _ in range(args.repeats)
            ),
            RECORDED_DISENT_STEPS_PER_SECOND,
        )
        print(f"batch 256, disent: {disent:.2f} steps/s ({source})", flush=True)
    rows = []
    for batch_size in args.batch_sizes:
        flops = flops_per_step(batch_size, device)
        baseline = None
        for name, overrides in variants(device).items():
            rate = statistics.median(
                steps_per_second(overrides, batch_size, args.steps, args.warmup) for _ in range(args.repeats)
            )
            baseline = baseline or rate
            print(f"batch {batch_size}, {name}: {rate:.2f} steps/s", flush=True)
            gflops = rate * flops / 1e9
            reference = f"{rate / disent:.2f}" if batch_size == 256 and device == "cpu" else ""
            rows.append(
                [
                    batch_size,
                    name,
                    f"{rate:.2f}",
                    f"{1000 / rate:.0f}",
                    f"{gflops:.0f}",
                    f"{100 * gflops / peak:.0f}%",
                    f"{rate / baseline:.2f}",
                    reference,
                ]
            )
    print_table(
        [
            "batch",
            "option",
            "steps/s",
            "ms/step",
            "GFLOP/s",
            "% matmul peak",
            "x baseline",
            f"x {disent:.2f}/s ({source})",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
