"""Run directories that a relaunched sweep can find again: stable names, skip-if-complete, resume.

A sweep job's directory is ``<sweep dir>/<run key>``, where the run key hashes the job's sorted
override list and its seed, so the same job of the same sweep always lands in the same directory
(no timestamps to collide, and a requeued SLURM job finds its own ``last.ckpt``). On start, a
job whose ``metrics.json`` is complete is skipped; one with a ``last.ckpt`` resumes from it.
Complete means every result a finished run records: a summary that says ``completed`` but lacks
its final losses, final evaluation or final health check (a run killed while writing them) is
not complete, and its relaunch finishes what is missing from the checkpoint of its last step.
Files that cannot be read (a corrupt ``metrics.json`` or checkpoint) are moved aside with a
``.corrupt-<time>`` suffix, reported, and the job runs again: nothing is dropped silently.
One job at a time uses a run dir (``exclusive_run_dir``): the same job launched twice waits for
the first, then finds the run complete.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from overlapvae.runs.checkpoints import read_checkpoint
from overlapvae.runs.record import RunSummary
from overlapvae.utils.files import move_aside
from overlapvae.utils.validation import InvalidInputError

log = logging.getLogger(__name__)

RUN_KEY_LENGTH = 12


def run_key(override_dirname: str, seed: int | str) -> str:
    """The directory name of a sweep job: a hash of its overrides (Hydra's sorted
    ``job.override_dirname``) and its seed, stable across launches, launchers and machines."""
    payload = json.dumps({"overrides": str(override_dirname), "seed": str(seed)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:RUN_KEY_LENGTH]


@dataclass(frozen=True)
class RunStart:
    """What a job finds in its directory: a complete summary (skip) or a checkpoint (resume).
    ``unfinished`` says why a summary that was there does not count (unreadable, or a completed
    run's missing results); ``None`` when there was none or it recorded an unfinished run."""

    completed: RunSummary | None = None
    checkpoint: Path | None = None
    step: int = 0
    unfinished: str | None = None


def missing_results(summary: RunSummary) -> list[str]:
    """What a completed run's summary lacks of the results a complete run has: the final losses,
    the final evaluation (when the run had the metrics callback) and the final health check (when
    it had the health check)."""
    missing = [] if summary.final else ["the final losses"]
    if summary.disentanglement is not None and summary.disentanglement.final is None:
        missing.append("the final evaluation")
    if summary.health is not None and summary.health.step != summary.steps:
        missing.append("the final health check")
    return missing


def is_complete(summary: RunSummary, max_steps: int) -> bool:
    """Completed with every result, and trained to the configured length (a longer ``max_steps``
    resumes it)."""
    return (
        summary.status == "completed" and (summary.steps or 0) >= max_steps and not missing_results(summary)
    )


def holds_complete_run(run_dir: Path, max_steps: int) -> bool:
    """Whether ``run_dir``'s ``metrics.json`` is a complete run of ``max_steps``, read only: an
    unreadable summary counts as not complete and is left for the job to move aside."""
    try:
        return is_complete(RunSummary.read(run_dir / "metrics.json"), max_steps)
    except ValueError:  # no metrics.json (RunSummary.read raises InvalidInputError), or unreadable
        return False


def inspect_run_dir(output_dir: Path, max_steps: int) -> RunStart:
    """Decide how a job starts in ``output_dir``: skip when complete, resume from ``last.ckpt``
    when one loads, else train from scratch. Unreadable files are moved aside first."""
    summary_path = output_dir / "metrics.json"
    unfinished = None
    if summary_path.exists():
        try:
            summary = RunSummary.read(summary_path)
        except ValueError as error:
            move_aside(summary_path, str(error), "the run is finished from its checkpoint or run again")
            unfinished = "unreadable metrics.json"
        else:
            if is_complete(summary, max_steps):
                return RunStart(completed=summary)
            missing = missing_results(summary) if summary.status == "completed" else []
            if missing:
                unfinished = f"completed without {', '.join(missing)}"
                log.warning("%s says completed but lacks %s: finishing it", summary_path, ", ".join(missing))
    checkpoint = output_dir / "checkpoints" / "last.ckpt"
    if not checkpoint.exists():
        return RunStart(unfinished=unfinished)
    try:
        step = int(read_checkpoint(checkpoint)["global_step"])
    except (InvalidInputError, KeyError) as error:
        move_aside(checkpoint, str(error), "the run starts again")
        return RunStart(unfinished=unfinished)
    log.info("resuming %s from step %d", output_dir, step)
    return RunStart(checkpoint=checkpoint, step=step, unfinished=unfinished)


#: Environment variables through which launchers tell a process its rank in a multi-process run.
RANK_VARIABLES = ("RANK", "LOCAL_RANK", "SLURM_PROCID")


@contextlib.contextmanager
def exclusive_run_dir(output_dir: Path) -> Iterator[None]:
    """Hold ``<output_dir>/.lock`` while a job uses its run dir.

    A second job for the same dir (a grid value given twice, a sweep relaunched while its first
    launch still runs) waits until the first lets go, then finds the run complete and skips it,
    instead of training beside it into the same files. The ranks of one multi-process run share
    their dir: only rank 0 takes the lock.
    """
    if next((int(os.environ[name]) for name in RANK_VARIABLES if name in os.environ), 0) != 0:
        yield
        return
    output_dir.mkdir(parents=True, exist_ok=True)
    with (output_dir / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning(
                "%s is in use by another job (the same run launched twice): waiting for it", output_dir
            )
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
