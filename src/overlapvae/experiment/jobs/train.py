"""One training run from a composed ``train`` config: build, train, write its record.

Outputs in the Hydra run dir: ``.hydra/`` (the composed config and overrides),
``checkpoints/last.ckpt``, ``images/step_*.png``, logger files (``csv/metrics.csv``, ``wandb/``)
and ``metrics.json``, written atomically when the run ends, however it ends. A run dir that
already holds a complete ``metrics.json`` is skipped; one with a ``last.ckpt`` resumes from it
(``overlapvae.runs``), which is how a relaunched sweep fills only its gaps. A resumed run is the
same run: the checkpoint holds every random stream a step draws from, the data loader's place in
its epoch and where the CSV history stopped, so the same seed gives the same numbers however
often the run was stopped. A run stopped after its last step but before its results were
written finishes them on relaunch (``recovered: final_evaluation`` in ``metrics.json``).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from overlapvae.data import GroundTruthDataModule
from overlapvae.experiment.build import build_datamodule, build_model, make
from overlapvae.experiment.checks import check_train_config
from overlapvae.experiment.hydra_state import JobContext
from overlapvae.experiment.launching import job_resources, scheduler_job
from overlapvae.experiment.wandb_setup import (
    finish_wandb,
    offline_wandb_dirs,
    prepare_wandb,
    resume_arguments,
)
from overlapvae.frameworks import AutoEncoder
from overlapvae.runs.checkpoints import read_checkpoint
from overlapvae.runs.directory import RunStart, exclusive_run_dir, inspect_run_dir
from overlapvae.runs.record import Disentanglement, Health, RunSummary, SchedulerJob
from overlapvae.training.csv_history import CSVHistory
from overlapvae.training.disentanglement import DisentanglementMetrics
from overlapvae.training.distances import ModelDistanceFigures
from overlapvae.training.finish import FinishFromLastStep
from overlapvae.training.health import ReconstructionHealth
from overlapvae.training.images import ReconstructionImages
from overlapvae.training.preemption import StopOnSignal, StoppedBySignalError
from overlapvae.training.random_streams import RandomStreams
from overlapvae.utils.files import atomic_write_json
from overlapvae.utils.validation import InvalidInputError

log = logging.getLogger(__name__)

#: A run stopped by SIGTERM (a scheduler's pre-emption or time limit) must not report success.
SIGTERM_EXIT_CODE = 128 + 15

#: Callbacks whose end-of-training work is part of a run's results (``FinishFromLastStep``).
FINISHING_CALLBACKS = (
    DisentanglementMetrics,
    ReconstructionHealth,
    ReconstructionImages,
    ModelDistanceFigures,
)


@dataclass
class TrainingRun:
    datamodule: GroundTruthDataModule
    framework: AutoEncoder
    trainer: L.Trainer
    finish: FinishFromLastStep


def build(cfg: DictConfig, concurrent_wandb: bool = False) -> TrainingRun:
    """Instantiate data, framework and trainer from a composed ``train`` config.

    Callback and logger entries without ``_target_`` are settings for an option that is not
    selected (e.g. ``debug=default`` tuning the default callbacks under ``callbacks=none``) and
    are skipped. Every run also gets the callbacks that make a resume exact (``RandomStreams``,
    ``CSVHistory``) and finish a run stopped after its last step (``FinishFromLastStep``).
    ``concurrent_wandb`` lets its wandb run open beside others in this process (a pack's members).
    """
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model = build_model(cfg)
    datamodule = build_datamodule(cfg, model)
    finish = FinishFromLastStep(FINISHING_CALLBACKS)
    callbacks = [make(node) for node in cfg.callbacks.values() if node and "_target_" in node]
    callbacks += [RandomStreams(), CSVHistory(), finish]
    loggers = [
        make(node, **resume_arguments(node, cfg.paths.output_dir, concurrent_wandb))
        for node in cfg.logger.values()
        if node and "_target_" in node
    ]
    trainer = make(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    return TrainingRun(datamodule=datamodule, framework=model.framework, trainer=trainer, finish=finish)


def callback_records(callbacks: Sequence[L.Callback]) -> dict[str, Disentanglement | Health]:
    """The records of the metrics callback (final and max-over-training scores) and of the health
    check (collapsed or not), where they ran, under their ``RunSummary`` keys."""
    kinds = {"disentanglement": DisentanglementMetrics, "health": ReconstructionHealth}
    return {key: c.summary() for key, kind in kinds.items() for c in callbacks if isinstance(c, kind)}


def _run_summary(run: TrainingRun | None) -> dict[str, Any]:
    """What the run got to (``RunSummary`` fields): steps, losses, hyperparameters and scores
    (nothing if it never built)."""
    if run is None:
        return {"steps": 0, "final": {}, "hyperparameters": {}, "wandb": []}
    return {
        "steps": run.trainer.global_step,
        "final": run.framework.final_losses(),
        "hyperparameters": dict(run.framework.hparams),
        "wandb": [str(path) for path in offline_wandb_dirs(run.trainer.loggers)],
        **callback_records(run.trainer.callbacks),
    }


def _recovered(start: RunStart, recovered_final_evaluation: bool) -> str | None:
    """How a run whose earlier results were missing or unreadable was made whole, if it was."""
    if recovered_final_evaluation:
        return "final_evaluation"
    if start.unfinished is not None and start.checkpoint is None:
        return "rerun"
    return None


@dataclass(frozen=True)
class Outcome:
    """How a job ended: ``status`` (completed, interrupted, failed), its error and traceback."""

    status: str = "failed"
    error: str | None = None
    details: str | None = None


class TrainingAttempt:
    """The training part of a job, as ``with attempt:``; ``outcome`` says how it ended.

    A scheduler's signal (``StoppedBySignalError``, after the checkpoint ``saved`` describes) ends
    it as ``interrupted`` and is not raised: ``hand_over()`` passes the signal on once the job's
    record is written. SIGTERM becomes ``SystemExit(143)``; a ``SystemExit`` (Ctrl-C) is
    ``interrupted``; any other exception ``failed``, with its traceback; the last two propagate.
    """

    def __init__(self, saved: str) -> None:
        self.saved = saved
        self.outcome = Outcome()
        self.stop_on_signal = StopOnSignal()

    def __enter__(self) -> TrainingAttempt:
        self.stop_on_signal.install()
        return self

    def __exit__(self, kind: type | None, exception: BaseException | None, trace: Any) -> bool:
        if exception is None:
            self.outcome = Outcome("completed")
        elif isinstance(exception, StoppedBySignalError):
            self.outcome = Outcome(
                "interrupted", f"{exception}: {self.saved}, handed to the scheduler to requeue"
            )
            return True
        elif isinstance(exception, SIGTERMException):
            self.outcome = Outcome("interrupted", "received SIGTERM")
            raise SystemExit(SIGTERM_EXIT_CODE) from exception
        elif isinstance(exception, SystemExit):
            self.outcome = Outcome("interrupted", "interrupted (KeyboardInterrupt)")
        else:
            details = "".join(traceback.format_exception(kind, exception, trace))
            self.outcome = Outcome(error=f"{type(exception).__name__}: {exception}", details=details)
        return False

    def release(self) -> bool:
        """After the record is written: whether a received signal is to be handed on (then keep
        the handlers for ``hand_over``), else restore the handlers that were there before."""
        handing_over = self.outcome.status == "interrupted" and self.stop_on_signal.received is not None
        if not handing_over:
            self.stop_on_signal.restore()
        return handing_over

    def hand_over(self) -> None:
        """Pass the signal to the scheduler's handler (which requeues the job and exits)."""
        self.stop_on_signal.hand_over()


def record_run(
    cfg: DictConfig,
    context: JobContext,
    start: RunStart,
    outcome: Outcome,
    progress: dict[str, Any],
    *,
    wall_time_s: float,
    resources: dict[str, Any],
    recovered_final_evaluation: bool = False,
) -> RunSummary:
    """The run's ``RunSummary``: how it ended (``outcome``), what it got to (``progress``:
    steps, losses, hyperparameters, scores) and how it ran."""
    output_dir = Path(cfg.paths.output_dir)
    checkpoint = output_dir / "checkpoints" / "last.ckpt"
    scheduler = scheduler_job()
    return RunSummary(
        status=outcome.status,
        error=outcome.error,
        traceback=outcome.details,
        resumed_from=str(start.checkpoint.relative_to(output_dir)) if start.checkpoint else None,
        resumed_at_step=start.step,
        recovered=_recovered(start, recovered_final_evaluation),
        recovered_because=start.unfinished,
        wall_time_s=round(wall_time_s, 3),
        seed=cfg.seed,
        sweep=cfg.sweep_name,
        overrides=context.overrides,
        choices=context.choices,
        resources=resources,
        scheduler=SchedulerJob(**scheduler) if scheduler else None,
        checkpoint=str(checkpoint.relative_to(output_dir)) if checkpoint.exists() else None,
        **progress,
    )


def refuse_packed_checkpoint(start: RunStart) -> None:
    """A checkpoint written by a pack resumes in a pack: it holds no Lightning loop state."""
    if start.checkpoint is not None and "pack" in read_checkpoint(start.checkpoint):
        raise InvalidInputError(
            f"{start.checkpoint} was written by a pack of runs (hydra/launcher=packed): resume the sweep "
            "with hydra/launcher=packed, or move the checkpoint aside to train this run from its start"
        )


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train one run and return the summary written to ``<output_dir>/metrics.json`` (its JSON form,
    with ``skipped`` when the run was already complete).

    The config's values are checked first. A complete run in ``output_dir`` is skipped and an
    interrupted one resumed; one job at a time uses the dir. Whatever stops the run (a bad config
    value at build time, an error, a signal), ``metrics.json`` records its status and error
    before the exception propagates.
    """
    check_train_config(cfg)
    output_dir = Path(cfg.paths.output_dir)
    with exclusive_run_dir(output_dir):
        return _train_in(cfg, output_dir)


def _train_in(cfg: DictConfig, output_dir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    resources = job_resources()
    context = JobContext.current()
    start = inspect_run_dir(output_dir, cfg.trainer.max_steps)
    if start.completed is not None:
        log.info("%s is complete (%d steps): skipped", output_dir, start.completed.steps)
        return {**start.completed.to_json(), "skipped": True}
    refuse_packed_checkpoint(start)
    run: TrainingRun | None = None
    attempt = TrainingAttempt(saved="checkpoint saved")
    try:
        with attempt:
            run = build(cfg)
            run.trainer.callbacks.append(attempt.stop_on_signal)
            hyperparameters = dict(run.framework.hparams)
            prepare_wandb(run.trainer.loggers, cfg, context.overrides, context.choices, hyperparameters)
            run.trainer.fit(run.framework, datamodule=run.datamodule, ckpt_path=start.checkpoint)
    finally:
        summary = record_run(
            cfg,
            context,
            start,
            attempt.outcome,
            _run_summary(run),
            wall_time_s=time.perf_counter() - started,
            resources=resources,
            recovered_final_evaluation=run is not None and run.finish.recovered,
        )
        record = summary.to_json()
        if run is None or run.trainer.is_global_zero:
            atomic_write_json(output_dir / "metrics.json", record)
        finish_wandb(summary)
        handing_over = attempt.release()
    if handing_over:
        attempt.hand_over()
    return record
