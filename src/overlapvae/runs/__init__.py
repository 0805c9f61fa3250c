"""Run directories and what they hold: run keys, skip/resume decisions, the run record and the
checkpoint. Hydra-free: a notebook or a launcher reads runs with it."""

from overlapvae.runs.checkpoints import locate, read_checkpoint
from overlapvae.runs.directory import (
    RunStart,
    exclusive_run_dir,
    holds_complete_run,
    inspect_run_dir,
    is_complete,
    missing_results,
    read_summary,
    run_key,
)
from overlapvae.runs.record import AuditSummary, RunSummary

__all__ = [
    "AuditSummary",
    "RunStart",
    "RunSummary",
    "exclusive_run_dir",
    "holds_complete_run",
    "inspect_run_dir",
    "is_complete",
    "locate",
    "missing_results",
    "read_checkpoint",
    "read_summary",
    "run_key",
]
