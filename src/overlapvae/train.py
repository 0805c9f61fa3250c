"""``overlapvae-train`` (or ``python -m overlapvae.train``): compose, build, train, write outputs.

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
import os
import shlex
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf

from overlapvae.build import build_model, config_dir, make
from overlapvae.callbacks import (
    CSVHistory,
    ModelDistanceFigures,
    RandomStreams,
    ReconstructionHealth,
    ReconstructionImages,
)
from overlapvae.callbacks.finish import FinishFromLastStep
from overlapvae.config import check_train_config, register_schemas
from overlapvae.data import GroundTruthDataModule
from overlapvae.frameworks import AutoEncoder
from overlapvae.launching import (
    LauncherUnavailableError,
    check_launcher,
    check_sweep_values,
    chosen_launcher,
    export_visible_gpus,
    share_machine,
    share_scheduler_allocation,
)
from overlapvae.metrics import DisentanglementMetrics
from overlapvae.preemption import StopOnSignal, StoppedBySignalError
from overlapvae.runs import RunStart, exclusive_run_dir, inspect_run_dir, run_key
from overlapvae.utils.files import atomic_write_json
from overlapvae.utils.validation import InvalidInputError, reports_bad_input
from overlapvae.wandb_logging import finish_wandb, offline_wandb_dirs, prepare_wandb, resume_arguments

log = logging.getLogger(__name__)
register_schemas()
if not OmegaConf.has_resolver("run_key"):
    OmegaConf.register_new_resolver("run_key", run_key)

#: A run stopped by SIGTERM (a scheduler's pre-emption or time limit) must not report success.
SIGTERM_EXIT_CODE = 128 + 15

warnings.filterwarnings("ignore", message=r".*LeafSpec.*")
warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(
    lambda record: "💡 Tip" not in record.getMessage()  # Lightning's advertisements
)


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


def build(cfg: DictConfig) -> TrainingRun:
    """Instantiate data, framework and trainer from a composed ``train`` config.

    Callback and logger entries without ``_target_`` are settings for an option that is not
    selected (e.g. ``debug=default`` tuning the default callbacks under ``callbacks=none``) and
    are skipped. Every run also gets the callbacks that make a resume exact (``RandomStreams``,
    ``CSVHistory``) and finish a run stopped after its last step (``FinishFromLastStep``).
    """
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model = build_model(cfg)
    datamodule = make(
        cfg.datamodule,
        data=model.data,
        seed=cfg.seed,
        standardise=model.standardise,
        pair_mode=model.framework.pair_sampling,
    )
    finish = FinishFromLastStep(FINISHING_CALLBACKS)
    callbacks = [make(node) for node in cfg.callbacks.values() if node and "_target_" in node]
    callbacks += [RandomStreams(), CSVHistory(), finish]
    loggers = [
        make(node, **resume_arguments(node, cfg.paths.output_dir))
        for node in cfg.logger.values()
        if node and "_target_" in node
    ]
    trainer = make(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    return TrainingRun(datamodule=datamodule, framework=model.framework, trainer=trainer, finish=finish)


def _overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _choices() -> dict[str, str]:
    """The option picked in each config group (``loss: l1``, ``framework: betavae``, ...)."""
    if not HydraConfig.initialized():
        return {}
    choices = HydraConfig.get().runtime.choices
    return {group: str(option) for group, option in choices.items() if not group.startswith("hydra")}


#: The callbacks whose records go into ``metrics.json``, under these keys.
RECORDED_CALLBACKS = {"disentanglement": DisentanglementMetrics, "health": ReconstructionHealth}


def _callback_records(run: TrainingRun) -> dict[str, Any]:
    """The records of the metrics callback (final and max-over-training scores) and of the health
    check (collapsed or not), where they ran."""
    records = {}
    for key, kind in RECORDED_CALLBACKS.items():
        for callback in run.trainer.callbacks:
            if isinstance(callback, kind):
                records[key] = callback.summary()
    return records


def _job_resources() -> dict[str, Any] | None:
    """Under the joblib launcher: this worker's GPU and share of the cores (before CUDA starts);
    under SLURM: the job's CPUs."""
    if not HydraConfig.initialized():
        return None
    hydra_cfg = HydraConfig.get()
    if not str(hydra_cfg.launcher.get("_target_", "")).endswith("JoblibLauncher"):
        return share_scheduler_allocation()
    lock_dir = Path(hydra_cfg.sweep.dir) / ".slots"
    return share_machine(hydra_cfg.job.num, int(hydra_cfg.launcher.n_jobs), lock_dir).as_dict()


def _scheduler_job() -> dict[str, Any] | None:
    """Under SLURM: the job's ids, how often it was requeued and (under submitit) its log file."""
    if "SLURM_JOB_ID" not in os.environ:
        return None
    job = {
        "job_id": os.environ["SLURM_JOB_ID"],
        "array_job_id": os.environ.get("SLURM_ARRAY_JOB_ID"),
        "array_task_id": os.environ.get("SLURM_ARRAY_TASK_ID"),
        "restart_count": int(os.environ.get("SLURM_RESTART_COUNT", 0)),
        "log": None,
    }
    if os.environ.get("SUBMITIT_EXECUTOR") == "slurm":
        import submitit

        job["log"] = str(submitit.JobEnvironment().paths.stderr)
    return job


def _run_summary(run: TrainingRun | None) -> dict[str, Any]:
    """What the run got to: steps, losses, hyperparameters and scores (nothing if it never built)."""
    if run is None:
        return {"steps": 0, "final": {}, "hyperparameters": {}, "wandb": []}
    return {
        "steps": run.trainer.global_step,
        "final": run.framework.final_losses(),
        "hyperparameters": dict(run.framework.hparams),
        "wandb": [str(path) for path in offline_wandb_dirs(run.trainer.loggers)],
        **_callback_records(run),
    }


def _recovered(start: RunStart, run: TrainingRun | None) -> str | None:
    """How a run whose earlier results were missing or unreadable was made whole, if it was."""
    if run is not None and run.finish.recovered:
        return "final_evaluation"
    if start.unfinished is not None and start.checkpoint is None:
        return "rerun"
    return None


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train one run and return the summary written to ``<output_dir>/metrics.json``.

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
    resources = _job_resources()
    start = inspect_run_dir(output_dir, cfg.trainer.max_steps)
    if start.completed is not None:
        log.info("%s is complete (%d steps): skipped", output_dir, start.completed["steps"])
        return {**start.completed, "skipped": True}
    run: TrainingRun | None = None
    status, error, details = "failed", None, None
    stop_on_signal = StopOnSignal()
    stop_on_signal.install()
    try:
        run = build(cfg)
        run.trainer.callbacks.append(stop_on_signal)
        prepare_wandb(run.trainer.loggers, cfg, _overrides(), _choices(), dict(run.framework.hparams))
        run.trainer.fit(run.framework, datamodule=run.datamodule, ckpt_path=start.checkpoint)
        status = "completed"
    except StoppedBySignalError as signalled:
        status, error = "interrupted", f"{signalled}: checkpoint saved, handed to the scheduler to requeue"
    except SIGTERMException as exception:
        status, error = "interrupted", "received SIGTERM"
        raise SystemExit(SIGTERM_EXIT_CODE) from exception
    except SystemExit:
        status, error = "interrupted", "interrupted (KeyboardInterrupt)"
        raise
    except BaseException as exception:
        error, details = f"{type(exception).__name__}: {exception}", traceback.format_exc()
        raise
    finally:
        checkpoint = output_dir / "checkpoints" / "last.ckpt"
        summary = {
            "status": status,
            "error": error,
            "traceback": details,
            "resumed_from": str(start.checkpoint.relative_to(output_dir)) if start.checkpoint else None,
            "resumed_at_step": start.step,
            "recovered": _recovered(start, run),
            "recovered_because": start.unfinished,
            "wall_time_s": round(time.perf_counter() - started, 3),
            "seed": cfg.seed,
            "sweep": cfg.sweep_name,
            "overrides": _overrides(),
            "choices": _choices(),
            "resources": resources,
            "scheduler": _scheduler_job(),
            "checkpoint": str(checkpoint.relative_to(output_dir)) if checkpoint.exists() else None,
            **_run_summary(run),
        }
        if run is None or run.trainer.is_global_zero:
            atomic_write_json(output_dir / "metrics.json", summary)
        finish_wandb(summary)
        handing_over = status == "interrupted" and stop_on_signal.received is not None
        if not handing_over:
            stop_on_signal.restore()
    if handing_over:
        stop_on_signal.hand_over()  # the scheduler's handler requeues the job and exits
    return summary


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
@reports_bad_input
def run_train(cfg: DictConfig) -> None:
    summary = train(cfg)
    steps, seconds = summary["steps"], summary["wall_time_s"]
    if summary.get("skipped"):
        print(f"already complete ({steps} steps), skipped; outputs in {cfg.paths.output_dir}")
        return
    print(f"finished {steps} steps in {seconds:.0f} s; outputs in {cfg.paths.output_dir}")
    if summary.get("wandb"):
        directories = " ".join(shlex.quote(directory) for directory in summary["wandb"])
        print(f"wandb run saved offline; upload it with: wandb sync {directories}")


def main() -> None:
    """Check the launcher can work here and the sweep lists each value once, then hand the command
    line to Hydra."""
    arguments = sys.argv[1:]
    try:
        check_launcher(arguments)
        check_sweep_values(arguments)
    except (LauncherUnavailableError, InvalidInputError) as error:
        sys.exit(f"error: {error}")
    if chosen_launcher(arguments) == "joblib":
        gpus = export_visible_gpus()
        if gpus and not any(a.startswith("hydra.launcher.n_jobs=") for a in arguments):
            sys.argv.append(f"hydra.launcher.n_jobs={len(gpus)}")  # one job per GPU
    run_train()


if __name__ == "__main__":
    main()
