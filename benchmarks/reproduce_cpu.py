"""Does the CPU scale show the paper's effect? Trains, at the CPU scale with 3 seeds per cell:
XYSquares spacing 1 against spacing 8 with MSE (overlap against none), and spacing 8 with MSE
against MSE + box blur (the remedy), for Ada-GVAE and for β-VAE (z = 9, β = 0.001, batch 64,
two jobs at a time). Prints MIG and DCI per cell (mean ± std over seeds, maximum over training and
final) and the wall time. Expect the paper's direction for Ada-GVAE: spacing 1 far above spacing 8,
box blur above MSE at spacing 8 (at this length judged by direction), MSE at spacing 8 near zero.
About 1.5 hours on an idle 2-core CPU at the default 2,000 steps (an Ada-GVAE run takes about 11
minutes with two at a time, 15 with the box loss); a relaunch skips the runs already complete and
resumes interrupted ones. Figures: ``benchmarks/RESULTS.md``.
Run: ``python benchmarks/reproduce_cpu.py [--steps 2000] [--seeds 0,1,2] [--root DIR]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from common import print_table
from overlapvae.results.tables import aggregate, load_sweep

CELLS = {
    "spacing 1, mse": ("dataset.grid_spacing=1", "loss=mse"),
    "spacing 8, mse": ("dataset.grid_spacing=8", "loss=mse"),
    "spacing 8, mse_box_r31": ("dataset.grid_spacing=8", "loss=mse_box_r31"),
}
FRAMEWORKS = ("adagvae_overlap", "betavae_overlap")
METRICS = (
    "max/mig.discrete_mig",
    "max/dci.disentanglement",
    "final/mig.discrete_mig",
    "final/dci.disentanglement",
)


def train_cells(root: Path, steps: int, seeds: str) -> float:
    entry = Path(sys.executable).parent / "overlapvae-train"
    started = time.perf_counter()
    for framework in FRAMEWORKS:
        for cell in CELLS.values():
            command = [
                str(entry),
                "-m",
                "experiment=overlap_vs_loss",
                "scale=cpu",
                "hydra/launcher=joblib",
                "sweep_name=reproduce_cpu",
                f"framework={framework}",
                f"trainer.max_steps={steps}",
                f"seed={seeds}",
                *cell,
                "~callbacks.progress_bar",
                "+trainer.enable_progress_bar=false",
            ]
            environment = {**os.environ, "OVERLAPVAE_ROOT": str(root), "WANDB_MODE": "offline"}
            subprocess.run(command, env=environment, check=False, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--root", type=Path, default=Path("benchmark_runs"))
    arguments = parser.parse_args()
    seconds = train_cells(arguments.root, arguments.steps, arguments.seeds)
    frame = load_sweep(arguments.root / "logs" / "train" / "sweeps" / "reproduce_cpu")
    table = aggregate(frame, ["framework", "dataset.grid_spacing", "loss"], list(METRICS))
    rows = []
    for row in table.to_dict("records"):
        cells = [row["framework"], row["dataset.grid_spacing"], row["loss"]]
        for metric in METRICS:
            cells.append(
                f"{row[f'{metric} mean']:.3f} ± {row[f'{metric} std']:.3f} (n={row[f'{metric} count']})"
            )
        rows.append(cells)
    print(f"{arguments.steps} steps per run, seeds {arguments.seeds}; {seconds / 60:.1f} minutes in all")
    print_table(["framework", "spacing", "loss", *METRICS], rows)


if __name__ == "__main__":
    main()
