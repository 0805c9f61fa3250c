"""Hydra callbacks of multiruns: the report at the end of a training sweep and the summary at the end
of an audit sweep."""

from __future__ import annotations

import atexit
import contextlib
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from overlapvae.results.audit_sweep import summarise_sweep
from overlapvae.results.report import sweep_report


def _print_report(sweep_dir: Path) -> None:
    if sweep_dir.is_dir():
        with contextlib.suppress(FileNotFoundError):  # no job got as far as writing its config
            print(sweep_report(sweep_dir), flush=True)


class SweepReport(Callback):
    """Prints ``sweep_report`` when a multirun's process exits, however the sweep ends (Hydra
    re-raises a failed job's error after every job of the sweep has run)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        atexit.register(_print_report, Path(config.hydra.sweep.dir))


class SweepSummary(Callback):
    """At the end of a multirun: Fig. 8 and correlation against the swept value, in the sweep dir."""

    def __init__(self, factor: str | None = None) -> None:
        self.factor = factor

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        written = summarise_sweep(Path(config.hydra.sweep.dir), self.factor)
        if written:
            print(f"sweep summary: {', '.join(str(path) for path in written)}")
