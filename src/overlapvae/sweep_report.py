"""The end of a training sweep: which jobs completed, which failed (with their error and run dir),
how to upload offline wandb runs and how to collect the results."""

from __future__ import annotations

import atexit
import contextlib
import shlex
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from overlapvae.results import load_sweep


def sweep_report(sweep_dir: Path) -> str:
    """A plain-text report of every run dir under ``sweep_dir``."""
    frame = load_sweep(sweep_dir)
    counts = frame["status"].value_counts().to_dict()
    lines = [
        f"sweep {sweep_dir}: {len(frame)} runs, " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    ]
    for row in frame[frame["status"] != "completed"].to_dict("records"):
        error = " ".join(str(row["error"]).split())[:300] if row["error"] else "no error recorded"
        log = f" and the job's log {row['log']}" if row.get("log") else ""
        lines.append(f"  {row['status']}: {row['run']} ({error}); see {row['path']}/metrics.json{log}")
    offline = sorted(sweep_dir.glob("*/wandb/offline-run-*"))
    if offline:
        lines.append(
            f"upload the {len(offline)} offline wandb runs with: "
            f"wandb sync {shlex.quote(str(sweep_dir))}/*/wandb/offline-run-*"
        )
    lines.append(f"collect the results with: overlapvae-collect {shlex.quote(str(sweep_dir))}")
    return "\n".join(lines)


def _print_report(sweep_dir: Path) -> None:
    if sweep_dir.is_dir():
        with contextlib.suppress(FileNotFoundError):  # no job got as far as writing its config
            print(sweep_report(sweep_dir), flush=True)


class SweepReport(Callback):
    """Prints ``sweep_report`` when a multirun's process exits, however the sweep ends (Hydra
    re-raises a failed job's error after every job of the sweep has run)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        atexit.register(_print_report, Path(config.hydra.sweep.dir))
