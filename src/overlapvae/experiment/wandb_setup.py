"""wandb for sweeps: one run per job, grouped by sweep, with everything needed to slice a dashboard
by loss, data set and spacing, and always closed (a multirun never merges two jobs into one run)."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger, WandbLogger
from omegaconf import DictConfig, OmegaConf

from overlapvae.runs.record import RunSummary
from overlapvae.utils.files import atomic_write_bytes

#: The run summary keeps the maximum over training of every periodic score (the paper's plots).
MAXIMISED_METRICS = "periodic/*"


def prepare_wandb(
    loggers: Sequence[Logger], cfg: DictConfig, overrides: list[str], choices: dict, derived: dict[str, Any]
) -> None:
    """Record the composed config, the override list, the group choices and the values derived from
    them at build time (``derived``: the framework's hyperparameters, e.g. the reconstruction term's
    scale measured on the data) with every logger, and tell wandb to summarise periodic scores by
    their maximum."""
    hyperparameters = {
        "config": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
        "overrides": overrides,
        "choices": choices,
        "derived": derived,
    }
    for logger in loggers:
        logger.log_hyperparams(hyperparameters)
        if isinstance(logger, WandbLogger):
            logger.experiment.define_metric(MAXIMISED_METRICS, summary="max")


def resume_arguments(
    logger_node: DictConfig, output_dir: str | Path, concurrent: bool = False
) -> dict[str, Any]:
    """For a wandb logger that names no run ``id``: the run dir's own id (made once, kept in
    ``<run dir>/wandb/run_id``) and ``resume="allow"``, so a resumed run continues its wandb run:
    online it appends to it; offline it writes a second ``offline-run-*`` dir with the same id,
    which ``wandb sync`` joins to the first when given both in order. ``concurrent``: the run opens
    beside others of this process (``reinit="create_new"``) instead of closing the one before."""
    if not str(logger_node.get("_target_", "")).endswith("WandbLogger"):
        return {}
    opening = {"reinit": "create_new"} if concurrent else {}
    if logger_node.get("id"):
        return opening
    path = Path(output_dir) / "wandb" / "run_id"
    if path.is_file():
        run_id = path.read_text().strip()
    else:
        run_id = secrets.token_hex(4)
        atomic_write_bytes(path, run_id.encode())
    return {"id": run_id, "resume": "allow", **opening}


def offline_wandb_dirs(loggers: Sequence[Logger]) -> list[Path]:
    """The ``offline-run-*`` directories of the offline wandb loggers that started a run, with those
    of the same run written before a resume, oldest first (the order ``wandb sync`` needs)."""
    directories = []
    for logger in loggers:
        if isinstance(logger, WandbLogger) and logger._offline and logger._experiment is not None:
            current = Path(logger.experiment.dir).parent
            same_run = current.parent.glob(f"offline-run-*-{logger.experiment.id}")
            directories.extend(sorted({current, *same_run}))
    return directories


def finish_wandb(summary: RunSummary | None = None, run: Any = None) -> None:
    """Close ``run`` (by default the current wandb run, if any), first copying the run's outcome
    into its summary (``RunSummary.to_wandb``: status, steps, error, the final scores, the maximum
    over training of each periodic score (``periodic_max/...``) and the health check). A process
    that never imported wandb has nothing to close."""
    wandb = sys.modules.get("wandb")
    run = run if run is not None else wandb.run if wandb is not None else None
    if run is None:
        return
    if summary is not None:
        run.summary.update(summary.to_wandb())
    failed = summary is not None and summary.status != "completed"
    run.finish(exit_code=1 if failed else 0)
