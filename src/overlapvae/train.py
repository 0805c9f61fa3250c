"""``overlapvae-train`` (or ``python -m overlapvae.train``): compose, build, train, write outputs.

Outputs in the Hydra run dir: ``.hydra/`` (the composed config and overrides),
``checkpoints/last.ckpt``, ``images/step_*.png``, logger files (``csv/metrics.csv``, ``wandb/``)
and ``metrics.json``, written atomically when the run ends, however it ends.
"""

from __future__ import annotations

import logging
import sys
import time
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
from overlapvae.config import register_schemas
from overlapvae.data import GroundTruthDataModule
from overlapvae.frameworks import AutoEncoder
from overlapvae.metrics import DisentanglementMetrics
from overlapvae.utils.files import atomic_write_json

register_schemas()

#: A run stopped by SIGTERM (a scheduler's pre-emption or time limit) must not report success.
SIGTERM_EXIT_CODE = 128 + 15

warnings.filterwarnings("ignore", message=r".*LeafSpec.*")
warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(
    lambda record: "💡 Tip" not in record.getMessage()  # Lightning's advertisements
)


@dataclass
class TrainingRun:
    datamodule: GroundTruthDataModule
    framework: AutoEncoder
    trainer: L.Trainer


def build(cfg: DictConfig) -> TrainingRun:
    """Instantiate data, framework and trainer from a composed ``train`` config.

    Callback and logger entries without ``_target_`` are settings for an option that is not
    selected (e.g. ``debug=default`` tuning the default callbacks under ``callbacks=none``) and
    are skipped.
    """
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model = build_model(cfg)
    datamodule = make(cfg.datamodule, data=model.data, seed=cfg.seed, standardise=model.standardise)
    callbacks = [make(node) for node in cfg.callbacks.values() if node and "_target_" in node]
    loggers = [make(node) for node in cfg.logger.values() if node and "_target_" in node]
    trainer = make(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    return TrainingRun(datamodule=datamodule, framework=model.framework, trainer=trainer)


def _overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _final_losses(run: TrainingRun) -> dict[str, float]:
    """The last logged window of running means, refreshed by any steps trained after it."""
    final = {name: float(value) for name, value in run.trainer.callback_metrics.items()}
    final.update(
        {f"train/{name}": float(value) for name, value in run.framework.compute_running_means().items()}
    )
    return final


def _disentanglement(run: TrainingRun) -> dict[str, Any]:
    """The metrics callback's record (final and max-over-training scores), if it ran."""
    for callback in run.trainer.callbacks:
        if isinstance(callback, DisentanglementMetrics):
            return {"disentanglement": callback.summary()}
    return {}


def finish_wandb() -> None:
    """Close any wandb run, so a multirun never merges jobs into one run. A run that never
    imported wandb (no wandb logger) has none to close, and does not pay for the import."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish()


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train one run and return the summary written to ``<output_dir>/metrics.json``."""
    output_dir = Path(cfg.paths.output_dir)
    started = time.perf_counter()
    run = build(cfg)
    for logger in run.trainer.loggers:
        logger.log_hyperparams(
            {"config": OmegaConf.to_container(cfg, resolve=True), "overrides": _overrides()}
        )
    status, error = "failed", None
    try:
        run.trainer.fit(run.framework, datamodule=run.datamodule)
        status = "completed"
    except SIGTERMException as exception:
        status, error = "interrupted", "received SIGTERM"
        raise SystemExit(SIGTERM_EXIT_CODE) from exception
    except SystemExit:
        status, error = "interrupted", "interrupted (KeyboardInterrupt)"
        raise
    except BaseException as exception:
        error = f"{type(exception).__name__}: {exception}"
        raise
    finally:
        checkpoint = output_dir / "checkpoints" / "last.ckpt"
        summary = {
            "status": status,
            "error": error,
            "steps": run.trainer.global_step,
            "wall_time_s": round(time.perf_counter() - started, 3),
            "seed": cfg.seed,
            "overrides": _overrides(),
            "final": _final_losses(run),
            "hyperparameters": dict(run.framework.hparams),
            "checkpoint": str(checkpoint.relative_to(output_dir)) if checkpoint.exists() else None,
            **_disentanglement(run),
        }
        atomic_write_json(output_dir / "metrics.json", summary)
        finish_wandb()
    return summary


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
def main(cfg: DictConfig) -> None:
    summary = train(cfg)
    steps, seconds = summary["steps"], summary["wall_time_s"]
    print(f"finished {steps} steps in {seconds:.0f} s; outputs in {cfg.paths.output_dir}")


if __name__ == "__main__":
    main()
