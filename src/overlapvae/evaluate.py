"""``overlapvae-evaluate checkpoint=<run dir or .ckpt>``: a metric preset on a trained model.

Rebuilds the run's data set and framework from its ``.hydra/config.yaml``, loads the checkpoint's
weights, evaluates the chosen preset (``metrics=reference`` by default) and writes
``eval_metrics.json`` into the run dir (given a run dir) or beside the checkpoint (given a file).
Exits with status 1 when a metric failed; its error is in the file.
"""

from __future__ import annotations

import time
from typing import Any

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from overlapvae.build import config_dir, make
from overlapvae.config import register_schemas
from overlapvae.metrics import MetricSuite, posterior_encoder
from overlapvae.runs import load_trained
from overlapvae.utils.files import atomic_write_json
from overlapvae.utils.validation import reports_bad_input

register_schemas()


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; anything else is passed to ``torch.device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Evaluate ``cfg.evaluation`` on ``cfg.checkpoint`` and write the result; return it."""
    device = resolve_device(cfg.device)
    run = load_trained(cfg.checkpoint, device)
    model = run.model
    suite: MetricSuite = make(cfg.evaluation)
    started = time.perf_counter()
    evaluation = suite.evaluate(posterior_encoder(model.framework), model.data, device, model.standardise)
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    result = {
        "status": "failed" if evaluation.errors else "completed",
        "checkpoint": str(run.checkpoint),
        "step": run.step,
        "preset": choices.get("metrics@evaluation"),
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


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="evaluate")
@reports_bad_input
def main(cfg: DictConfig) -> None:
    result = evaluate(cfg)
    for key, value in result["values"].items():
        print(f"{key:50s} {value:.4f}")
    for name, error in result["errors"].items():
        print(f"FAILED {name}: {error}")
    print(f"wrote {result['path']}")
    if result["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
