"""L1 against MSE, answered fairly: ``experiment=l1_vs_mse`` at the CPU scale (Ada-GVAE, z = 9,
β = 0.001, batch 64, 1,500 steps), XYSquares spacing 1 and 8, each loss as it is, on MSE's scale
(``l1_matched``) and calibrated (``mse_calibrated``, ``l1_calibrated``), 3 seeds, two jobs at a time;
or ``--experiment l1_vs_mse_shaded``: MSE against matched L1 on shaded XYObject, where the two
perceive pairs differently. MIG is evaluated every 250 steps to see when a run leaves the floor.
Prints per setting: final MIG and DCI (mean ± std over the runs that did not collapse), how many
runs collapsed, the mean reconstruction error over the best constant image's, and the step at which
each seed's MIG first passed ``--floor``. About 2.5 hours (the shaded grid: 35 minutes) on an idle
2-core CPU; a relaunch skips complete runs. Figures: ``benchmarks/RESULTS.md``.
Run: ``python benchmarks/l1_vs_mse.py [--experiment l1_vs_mse_shaded] [--seeds 0,1,2] [--root DIR]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from common import print_table
from overlapvae.results.tables import aggregate, load_sweep, swept_columns
from overlapvae.runs.record import RunSummary

METRICS = ("final/mig.discrete_mig", "final/dci.disentanglement")
MIG = "mig.discrete_mig"


def train(root: Path, experiment: str, seeds: str) -> float:
    command = [
        str(Path(sys.executable).parent / "overlapvae-train"),
        "-m",
        f"experiment={experiment}",
        "scale=cpu",
        "hydra/launcher=joblib",
        f"seed={seeds}",
        "callbacks.metrics.every_n_steps=250",
        "~callbacks.progress_bar",
        "+trainer.enable_progress_bar=false",
    ]
    environment = {**os.environ, "OVERLAPVAE_ROOT": str(root), "WANDB_MODE": "offline"}
    started = time.perf_counter()
    subprocess.run(command, env=environment, check=False, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def leaves_floor(run_dir: str, floor: float) -> str:
    """The first periodic step whose MIG passed ``floor`` ("–" when none did)."""
    scores = RunSummary.read(Path(run_dir) / "metrics.json").disentanglement
    steps = [row["step"] for row in (scores.periodic if scores else []) if row.get(MIG, 0.0) > floor]
    return str(steps[0]) if steps else "–"


def cell(mean: float, std: float, count: int) -> str:
    if count == 0:
        return "–"
    return f"{mean:.3f}" + ("" if count < 2 else f" ± {std:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiment", default="l1_vs_mse", choices=["l1_vs_mse", "l1_vs_mse_shaded"])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--root", type=Path, default=Path("benchmark_runs"))
    parser.add_argument("--floor", type=float, default=0.1)
    arguments = parser.parse_args()
    seconds = train(arguments.root, arguments.experiment, arguments.seeds)
    frame = load_sweep(arguments.root / "logs" / "train" / "sweeps" / f"{arguments.experiment}_cpu")
    by = swept_columns(frame)
    table = aggregate(frame, by, list(METRICS))
    ratios = aggregate(frame, by, ["health/ratio"], leave_out_collapsed=False)
    rows = []
    for row, ratio in zip(table.to_dict("records"), ratios.to_dict("records"), strict=True):
        runs = frame[(frame[by] == pd.Series({axis: row[axis] for axis in by})).all(axis=1)]
        floor = ", ".join(leaves_floor(path, arguments.floor) for path in runs.sort_values("seed")["path"])
        rows.append(
            [
                *(row[axis] for axis in by),
                *(cell(row[f"{m} mean"], row[f"{m} std"], row[f"{m} count"]) for m in METRICS),
                f"{row['collapsed']} of {row['completed']}",
                f"{ratio['health/ratio mean']:.3f}",
                floor,
            ]
        )
    print(f"seeds {arguments.seeds}; {seconds / 60:.1f} minutes in all")
    print_table(
        [
            *by,
            "MIG (final)",
            "DCI (final)",
            "collapsed",
            "recon / constant",
            f"MIG > {arguments.floor} at step (per seed)",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
