"""Several training runs as one pack: one process, one Lightning ``Trainer``, one optimiser step
for all (``overlapvae.training.pack``), each member still a run in its own run dir.

Each member is built from its own composed config exactly as ``jobs.train`` builds it (its seed,
model init, data module, callbacks and loggers), skipped when its run dir is complete and
resumed from its ``checkpoints/last.ckpt`` (one a pack or a run trained alone wrote); its
``metrics.json`` is the record ``jobs.train`` writes, with ``resources.pack`` saying how many
runs it trained beside. The members of a pack share the trainer and optimiser settings (the
launcher groups jobs so: ``pack_compatibility_key``) and resume from one step.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.loggers import WandbLogger
from omegaconf import DictConfig, OmegaConf

from overlapvae.experiment.build import make
from overlapvae.experiment.checks import check_train_config
from overlapvae.experiment.hydra_state import JobContext
from overlapvae.experiment.jobs.train import (
    Outcome,
    TrainingAttempt,
    build,
    callback_records,
    record_run,
)
from overlapvae.experiment.launching import job_resources
from overlapvae.experiment.wandb_setup import finish_wandb, offline_wandb_dirs, prepare_wandb
from overlapvae.frameworks.packed import global_generator_state
from overlapvae.runs.checkpoints import read_checkpoint
from overlapvae.runs.directory import RunStart, exclusive_run_dir, inspect_run_dir
from overlapvae.training.acceleration import ModelAcceleration
from overlapvae.training.csv_history import CSVHistory
from overlapvae.training.finish import FinishFromLastStep
from overlapvae.training.pack import PackedTraining, PackMember
from overlapvae.training.pack_members import (
    MemberRun,
    MemberTrainer,
    PackMemberRuns,
    noise_state,
    restore_member,
)
from overlapvae.training.preemption import StopOnSignal
from overlapvae.training.random_streams import RandomStreams
from overlapvae.utils.files import atomic_write_json
from overlapvae.utils.validation import InvalidInputError

log = logging.getLogger(__name__)

#: A member's callbacks whose work the pack does for it (or, for a progress bar, once for all).
DONE_BY_THE_PACK = (ModelAcceleration, RandomStreams, CSVHistory, FinishFromLastStep, ProgressBar)


@dataclass(frozen=True)
class PackJob:
    """One run of a pack: its composed config (``paths.output_dir`` resolved) and Hydra context."""

    cfg: DictConfig
    context: JobContext


def shared_settings(cfg: DictConfig) -> dict[str, Any]:
    """What the runs of one pack share: the trainer's and optimiser's settings (one loop, one
    optimiser over all members' weights), flattened (``optimizer.lr``). Everything else may
    differ; members that differ in framework, model, loss or batch shape train in separate
    vmapped groups of the pack."""
    shared = {}
    for name in ("trainer", "optimizer"):
        for key in cfg[name]:
            if key != "default_root_dir":  # the run dir's, resolvable only inside the job
                value = cfg[name][key]
                shared[f"{name}.{key}"] = (
                    OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
                )
    return shared


def pack_compatibility_key(cfg: DictConfig) -> str:
    """``shared_settings`` as a key: runs with equal keys can train in one pack."""
    return json.dumps(shared_settings(cfg), sort_keys=True, default=str)


def settings_apart(cfg: DictConfig, other: DictConfig) -> str:
    """The shared settings in which ``cfg`` differs from ``other`` (``optimizer.lr=0.0005, not 0.001``)."""
    mine, theirs = shared_settings(cfg), shared_settings(other)
    return ", ".join(
        f"{key}={mine.get(key)!r}, not {theirs.get(key)!r}"
        for key in sorted({*mine, *theirs})
        if mine.get(key) != theirs.get(key)
    )


@dataclass
class Pack:
    """A built pack: the Lightning module and trainer, and each member as a run."""

    module: PackedTraining
    trainer: L.Trainer
    members: PackMemberRuns
    remaining_steps: int


def _member_callbacks(trainer: L.Trainer) -> list[L.Callback]:
    return [callback for callback in trainer.callbacks if not isinstance(callback, DONE_BY_THE_PACK)]


def build_pack(jobs: Sequence[PackJob], starts: Sequence[RunStart], stop_on_signal: StopOnSignal) -> Pack:
    """Build every member as it would be built alone, restore those that resume, and pack them."""
    first = jobs[0].cfg
    start_step = starts[0].step
    remaining = int(first.trainer.max_steps) - start_step
    members_runs = PackMemberRuns([])
    trainer = make(
        first.trainer,
        callbacks=[members_runs, stop_on_signal],
        logger=False,
        max_steps=max(remaining, 0),
        enable_checkpointing=False,
        default_root_dir=first.paths.output_dir,
    )
    (acceleration,) = [c for c in trainer.callbacks if isinstance(c, ModelAcceleration)]
    trainer.callbacks.remove(acceleration)  # a pack compiles its vmapped step instead of the model
    if trainer.world_size > 1:
        raise InvalidInputError(
            f"a pack trains in one process on one device, not {trainer.world_size}: use trainer=gpu or cpu"
        )
    device = trainer.strategy.root_device
    members: list[PackMember] = []
    runs: list[MemberRun] = []
    windows, logged = [], []
    for job, start in zip(jobs, starts, strict=True):
        built = build(job.cfg, concurrent_wandb=True)
        noise = global_generator_state(device)
        view = MemberTrainer(
            datamodule=built.datamodule,
            loggers=list(built.trainer.loggers),
            strategy=SimpleNamespace(root_device=device),
        )
        built.datamodule.trainer = view
        run = MemberRun(built.framework, _member_callbacks(built.trainer), view)
        optimizer_state, window, last = None, {}, {}
        if start.checkpoint is not None:
            checkpoint = read_checkpoint(start.checkpoint)
            window, last = restore_member(run, checkpoint)
            noise = noise_state(checkpoint, device)
            optimizer_state = checkpoint["optimizer_states"][0]
        runs.append(run)
        windows.append((window, built.framework.window_steps))
        logged.append(last)
        members.append(
            PackMember(
                framework=built.framework,
                datamodule=built.datamodule,
                noise_state=noise,
                loggers=view.loggers,
                group_key=OmegaConf.to_yaml(job.cfg.model, resolve=True),
                optimizer_state=optimizer_state,
            )
        )
    window_steps = {steps for _, steps in windows}
    if len(window_steps) > 1:
        raise InvalidInputError(
            f"the members' checkpoints hold logging windows of {sorted(window_steps)} steps"
        )
    module = PackedTraining(members, start_step, acceleration.compile_mode if acceleration.compile else None)
    members_runs.runs = runs
    module.restore_window([window for window, _ in windows], window_steps.pop(), logged)
    return Pack(module=module, trainer=trainer, members=members_runs, remaining_steps=remaining)


def train_pack(jobs: Sequence[PackJob], resources: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Train ``jobs`` as one pack; return each one's ``metrics.json`` content (with ``skipped`` for
    one that was complete), in order.

    Each run dir is locked, checked (complete: skipped; checkpoint: resumed) and recorded as
    ``jobs.train`` does it. Whatever stops the pack, every member's ``metrics.json`` records its
    status before the exception propagates; a member whose loss became non-finite stops alone.
    ``resources``: what the launcher gave this process (slot, GPU, threads), when Hydra cannot say.
    """
    for job in jobs:
        check_train_config(job.cfg)
    with contextlib.ExitStack() as stack:
        for job in jobs:
            stack.enter_context(exclusive_run_dir(Path(job.cfg.paths.output_dir)))
        return _train_pack_in(jobs, resources)


def _train_pack_in(jobs: Sequence[PackJob], resources: dict[str, Any] | None) -> list[dict[str, Any]]:
    started = time.perf_counter()
    starts = [inspect_run_dir(Path(job.cfg.paths.output_dir), job.cfg.trainer.max_steps) for job in jobs]
    records: list[dict[str, Any] | None] = [None] * len(jobs)
    for index, start in enumerate(starts):
        if start.completed is not None:
            log.info(
                "%s is complete (%d steps): skipped", jobs[index].cfg.paths.output_dir, start.completed.steps
            )
            records[index] = {**start.completed.to_json(), "skipped": True}
    pending = [index for index, record in enumerate(records) if record is None]
    if not pending:
        return records
    keys = {pack_compatibility_key(jobs[index].cfg) for index in pending}
    steps = {starts[index].step for index in pending}
    if len(keys) > 1 or len(steps) > 1:
        raise InvalidInputError(
            "the runs of a pack share their trainer and optimiser settings and resume from one step "
            f"(here steps {sorted(steps)}); hydra/launcher=packed groups jobs so"
        )
    given = resources if resources is not None else job_resources() or {}
    records_of = _train_members(
        [jobs[index] for index in pending], [starts[index] for index in pending], started, given
    )
    for index, record in zip(pending, records_of, strict=True):
        records[index] = record
    return records


def _train_members(
    jobs: Sequence[PackJob], starts: Sequence[RunStart], started: float, given: dict[str, Any]
) -> list[dict[str, Any]]:
    resources = {**given, "pack": {"size": len(jobs)}}
    pack: Pack | None = None
    recovered = False
    attempt = TrainingAttempt(saved="checkpoints saved")
    try:
        with attempt:
            pack = build_pack(jobs, starts, attempt.stop_on_signal)
            for job, run in zip(jobs, pack.members.runs, strict=True):
                hyperparameters = dict(run.framework.hparams)
                context = job.context
                prepare_wandb(
                    run.trainer.loggers, job.cfg, context.overrides, context.choices, hyperparameters
                )
            if pack.remaining_steps > 0:
                pack.trainer.fit(pack.module, train_dataloaders=range(pack.remaining_steps))
            else:  # stopped after the last step, before its results were written: write them now
                pack.members.finish(pack.module, optimizer=None)
                recovered = True
    finally:
        records = []
        for index, (job, start) in enumerate(zip(jobs, starts, strict=True)):
            summary = record_run(
                job.cfg,
                job.context,
                start,
                _member_outcome(pack, index, attempt.outcome),
                _member_progress(pack, index, start),
                wall_time_s=time.perf_counter() - started,
                resources=resources,
                recovered_final_evaluation=recovered,
            )
            records.append(summary.to_json())
            atomic_write_json(Path(job.cfg.paths.output_dir) / "metrics.json", records[-1])
            for logger in pack.members.runs[index].trainer.loggers if pack is not None else ():
                if isinstance(logger, WandbLogger) and logger._experiment is not None:
                    finish_wandb(summary, logger.experiment)
        handing_over = attempt.release()
    if handing_over:
        attempt.hand_over()
    return records


def _member_outcome(pack: Pack | None, index: int, outcome: Outcome) -> Outcome:
    """A member stopped by its own non-finite loss failed, whatever became of the pack."""
    if pack is not None and pack.members.runs[index].error is not None:
        return Outcome(error=pack.members.runs[index].error)
    return outcome


def _member_progress(pack: Pack | None, index: int, start: RunStart) -> dict[str, Any]:
    """What member ``index`` got to (``RunSummary`` fields), as ``jobs.train`` records it."""
    if pack is None:
        return {"steps": 0, "final": {}, "hyperparameters": {}, "wandb": []}
    run = pack.members.runs[index]
    return {
        "steps": run.stopped_at if run.stopped_at is not None else pack.module.step,
        "final": pack.module.final_losses(index),
        "hyperparameters": dict(run.framework.hparams),
        "wandb": [str(path) for path in offline_wandb_dirs(run.trainer.loggers)],
        **callback_records(run.callbacks),
    }
