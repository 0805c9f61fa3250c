"""Run directories that a relaunched sweep can find again: stable names, skip-if-complete, resume,
and loading a trained run back (``load_trained``).

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
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from overlapvae.build import Model, build_model
from overlapvae.utils.files import move_aside
from overlapvae.utils.validation import InvalidInputError, MissingInputError

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
        raise InvalidInputError(f"cannot read {path}: {error}") from error
    if not isinstance(summary, dict):
        raise InvalidInputError(f"{path} holds {type(summary).__name__}, not a run summary")
    missing = [key for key in SUMMARY_KEYS if key not in summary]
    if missing:
        raise InvalidInputError(f"{path} is partial: it lacks {', '.join(missing)}")
    return summary


@dataclass(frozen=True)
class RunStart:
    """What a job finds in its directory: a complete summary (skip) or a checkpoint (resume).
    ``unfinished`` says why a summary that was there does not count (unreadable, or a completed
    run's missing results); ``None`` when there was none or it recorded an unfinished run."""

    completed: dict[str, Any] | None = None
    checkpoint: Path | None = None
    step: int = 0
    unfinished: str | None = None


def missing_results(summary: dict[str, Any]) -> list[str]:
    """What a completed run's summary lacks of the results a complete run has: the final losses,
    the final evaluation (when the run had the metrics callback) and the final health check (when
    it had the health check)."""
    missing = [] if summary["final"] else ["the final losses"]
    scores = summary.get("disentanglement")
    if scores is not None and scores.get("final") is None:
        missing.append("the final evaluation")
    health = summary.get("health")
    if health is not None and health.get("step") != summary["steps"]:
        missing.append("the final health check")
    return missing


def is_complete(summary: dict[str, Any], max_steps: int) -> bool:
    """Completed with every result, and trained to the configured length (a longer ``max_steps``
    resumes it)."""
    return summary["status"] == "completed" and summary["steps"] >= max_steps and not missing_results(summary)


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
    unfinished = None
    if summary_path.exists():
        try:
            summary = read_summary(summary_path)
        except ValueError as error:
            move_aside(summary_path, str(error), "the run is finished from its checkpoint or run again")
            unfinished = "unreadable metrics.json"
        else:
            if is_complete(summary, max_steps):
                return RunStart(completed=summary)
            missing = missing_results(summary) if summary["status"] == "completed" else []
            if missing:
                unfinished = f"completed without {', '.join(missing)}"
                log.warning("%s says completed but lacks %s: finishing it", summary_path, ", ".join(missing))
    checkpoint = output_dir / "checkpoints" / "last.ckpt"
    if not checkpoint.exists():
        return RunStart(unfinished=unfinished)
    try:
        step = int(read_checkpoint(checkpoint)["global_step"])
    except (InvalidInputError, KeyError) as error:
        move_aside(checkpoint, str(error), RUN_AGAIN)
        return RunStart(unfinished=unfinished)
    log.info("resuming %s from step %d", output_dir, step)
    return RunStart(checkpoint=checkpoint, step=step, unfinished=unfinished)


#: Environment variables through which launchers tell a process its rank in a multi-process run.
RANK_VARIABLES = ("RANK", "LOCAL_RANK", "SLURM_PROCID")


def _process_rank() -> int:
    for name in RANK_VARIABLES:
        if name in os.environ:
            return int(os.environ[name])
    return 0


@contextlib.contextmanager
def exclusive_run_dir(output_dir: Path) -> Iterator[None]:
    """Hold ``<output_dir>/.lock`` while a job uses its run dir.

    A second job for the same dir (a grid value given twice, a sweep relaunched while its first
    launch still runs) waits until the first lets go, then finds the run complete and skips it,
    instead of training beside it into the same files. The ranks of one multi-process run share
    their dir: only rank 0 takes the lock.
    """
    if _process_rank() != 0:
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


def locate(checkpoint: str | Path) -> tuple[Path, Path, Path]:
    """``(checkpoint file, run dir, output dir)`` for a run dir or a checkpoint inside one."""
    path = Path(checkpoint).expanduser()
    if path.is_dir():
        run_dir, output_dir, path = path, path, path / "checkpoints" / "last.ckpt"
    else:
        run_dir, output_dir = path.parent.parent, path.parent
    if not path.is_file():
        raise MissingInputError(
            f"checkpoint={checkpoint}: no checkpoint at {path}: pass checkpoint=<run dir> (with "
            "checkpoints/last.ckpt) or checkpoint=<path to a .ckpt file>"
        )
    if not (run_dir / ".hydra" / "config.yaml").is_file():
        raise MissingInputError(
            f"checkpoint={checkpoint}: {run_dir / '.hydra' / 'config.yaml'} is missing: the checkpoint "
            "must sit in <run dir>/checkpoints/ of an overlapvae-train run, whose config says what to rebuild"
        )
    return path, run_dir, output_dir


def read_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """A checkpoint file's contents; ``InvalidInputError`` naming the file when it cannot be read."""
    try:
        state = torch.load(path, map_location=device, weights_only=False)
    except Exception as error:  # truncated, not a zip archive, foreign pickle: any unpickling error
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        raise InvalidInputError(
            f"{path} is not a readable checkpoint ({reason}): it may be truncated or not written by "
            "overlapvae-train; use another checkpoint"
        ) from error
    if not isinstance(state, dict) or "state_dict" not in state:
        raise InvalidInputError(
            f"{path} holds no model weights (no state_dict): it is not a training checkpoint"
        )
    return state


@dataclass
class TrainedRun:
    """A trained run loaded back: its data set, scale and framework (weights loaded, in eval mode
    on the device), its saved config, where it lives and the step its checkpoint holds."""

    model: Model
    config: DictConfig
    checkpoint: Path
    run_dir: Path
    output_dir: Path
    step: int | None


def load_trained(checkpoint: str | Path, device: torch.device) -> TrainedRun:
    """Rebuild a run's data set and framework from its ``.hydra/config.yaml`` and load the weights
    of ``checkpoint`` (a run dir or a ``.ckpt`` inside one)."""
    path, run_dir, output_dir = locate(checkpoint)
    state = read_checkpoint(path, device)  # before the (costlier) rebuild: a bad file fails at once
    config = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    model = build_model(config)
    try:
        model.framework.on_load_checkpoint(state)
        model.framework.load_state_dict(state["state_dict"])
    except (KeyError, RuntimeError) as error:
        raise InvalidInputError(
            f"{path} does not hold the weights of the model its run config describes "
            f"({run_dir / '.hydra' / 'config.yaml'}): {error}"
        ) from error
    model.framework.to(device).eval()
    return TrainedRun(model, config, path, run_dir, output_dir, state.get("global_step"))
