"""Run directories that a relaunched sweep can find again: stable names, skip-if-complete, resume.

A sweep job's directory is ``<sweep dir>/<run key>``, where the run key hashes the job's sorted
override list and its seed, so the same job of the same sweep always lands in the same directory
(no timestamps to collide, and a requeued SLURM job finds its own ``last.ckpt``). On start, a
job whose ``metrics.json`` is complete is skipped; one with a ``last.ckpt`` resumes from it.
Files that cannot be read (a corrupt ``metrics.json`` or checkpoint) are moved aside with a
``.corrupt-<time>`` suffix, reported, and the job runs again: nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from overlapvae.utils.files import move_aside

log = logging.getLogger(__name__)

RUN_KEY_LENGTH = 12
#: What a finished run's ``metrics.json`` must hold to count as complete.
SUMMARY_KEYS = ("status", "steps", "seed", "overrides", "final")
RUN_AGAIN = "the run starts again"


def run_key(override_dirname: str, seed: int | str) -> str:
    """The directory name of a sweep job: a hash of its overrides (Hydra's sorted
    ``job.override_dirname``) and its seed, stable across launches, launchers and machines."""
    payload = json.dumps({"overrides": str(override_dirname), "seed": str(seed)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:RUN_KEY_LENGTH]


def read_summary(path: Path) -> dict[str, Any]:
    """A run's ``metrics.json``; ``ValueError`` naming the problem when it is not a whole summary."""
    try:
        summary = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read {path}: {error}") from error
    if not isinstance(summary, dict):
        raise ValueError(f"{path} holds {type(summary).__name__}, not a run summary")
    missing = [key for key in SUMMARY_KEYS if key not in summary]
    if missing:
        raise ValueError(f"{path} is partial: it lacks {', '.join(missing)}")
    return summary


@dataclass(frozen=True)
class RunStart:
    """What a job finds in its directory: a complete summary (skip) or a checkpoint (resume)."""

    completed: dict[str, Any] | None = None
    checkpoint: Path | None = None
    step: int = 0


def is_complete(summary: dict[str, Any], max_steps: int) -> bool:
    """Completed, and trained to the configured length (a longer ``max_steps`` resumes it)."""
    return summary["status"] == "completed" and summary["steps"] >= max_steps


def holds_complete_run(run_dir: Path, max_steps: int) -> bool:
    """Whether ``run_dir``'s ``metrics.json`` is a complete run of ``max_steps``, read only: an
    unreadable summary counts as not complete and is left for the job to move aside."""
    path = run_dir / "metrics.json"
    if not path.is_file():
        return False
    try:
        return is_complete(read_summary(path), max_steps)
    except ValueError:
        return False


def inspect_run_dir(output_dir: Path, max_steps: int) -> RunStart:
    """Decide how a job starts in ``output_dir``: skip when complete, resume from ``last.ckpt``
    when one loads, else train from scratch. Unreadable files are moved aside first."""
    summary_path = output_dir / "metrics.json"
    if summary_path.exists():
        try:
            summary = read_summary(summary_path)
        except ValueError as error:
            move_aside(summary_path, str(error), RUN_AGAIN)
        else:
            if is_complete(summary, max_steps):
                return RunStart(completed=summary)
    checkpoint = output_dir / "checkpoints" / "last.ckpt"
    if not checkpoint.exists():
        return RunStart()
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        step = int(state["global_step"])
    except Exception as error:  # truncated or foreign file: any unpickling error
        move_aside(checkpoint, f"{type(error).__name__}: {error}", RUN_AGAIN)
        return RunStart()
    log.info("resuming %s from step %d", output_dir, step)
    return RunStart(checkpoint=checkpoint, step=step)
