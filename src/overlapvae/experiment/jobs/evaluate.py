"""A metric preset on a trained model (``overlapvae-evaluate checkpoint=<run dir or .ckpt>``).

Rebuilds the run's data set and framework from its ``.hydra/config.yaml``, loads the checkpoint's
weights, evaluates the chosen preset (``metrics=reference`` by default) and writes
``eval_metrics.json`` into the run dir (given a run dir) or beside the checkpoint (given a file).
"""

from __future__ import annotations

import time
from typing import Any

from omegaconf import DictConfig, OmegaConf

from overlapvae.experiment.build import make
from overlapvae.experiment.hydra_state import group_choices
from overlapvae.experiment.trained import load_trained
from overlapvae.metrics import MetricSuite
from overlapvae.utils.devices import resolve_device
from overlapvae.utils.files import atomic_write_json


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Evaluate ``cfg.evaluation`` on ``cfg.checkpoint`` and write the result; return it."""
    device = resolve_device(cfg.device)
    run = load_trained(cfg.checkpoint, device)
    suite: MetricSuite = make(cfg.evaluation)
    started = time.perf_counter()
    evaluation = suite.evaluate(run.model.framework.posterior, run.model.data, device, run.model.standardise)
    result = {
        "status": "failed" if evaluation.errors else "completed",
        "checkpoint": str(run.checkpoint),
        "step": run.step,
        "preset": group_choices().get("metrics@evaluation"),
        "values": evaluation.values,
        "errors": evaluation.errors,
        "seconds": evaluation.seconds,
        "num_encoded": evaluation.num_encoded,
        "wall_time_s": round(time.perf_counter() - started, 3),
        "device": str(device),
        "evaluation": OmegaConf.to_container(cfg.evaluation, resolve=True, enum_to_str=True),
    }
    result["path"] = str(run.output_dir / cfg.output_name)
    atomic_write_json(result["path"], result)
    return result
