"""``overlapvae-evaluate checkpoint=<run dir or .ckpt>``: a metric preset on a trained model.

Rebuilds the run's data set and framework from its ``.hydra/config.yaml``, loads the checkpoint's
weights, evaluates the chosen preset (``metrics=reference`` by default) and writes
``eval_metrics.json`` into the run dir (given a run dir) or beside the checkpoint (given a file).
Exits with status 1 when a metric failed; its error is in the file.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from overlapvae.build import build_model, config_dir, make
from overlapvae.config import register_schemas
from overlapvae.metrics import MetricSuite, posterior_encoder
from overlapvae.utils.files import atomic_write_json

register_schemas()


def locate(checkpoint: str | Path) -> tuple[Path, Path, Path]:
    """``(checkpoint file, run dir, output dir)`` for a run dir or a checkpoint inside one."""
    path = Path(checkpoint).expanduser()
    if path.is_dir():
        run_dir, output_dir, path = path, path, path / "checkpoints" / "last.ckpt"
    else:
        run_dir, output_dir = path.parent.parent, path.parent
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}: pass checkpoint=<run dir> (with checkpoints/last.ckpt) "
            "or checkpoint=<path to a .ckpt file>"
        )
    if not (run_dir / ".hydra" / "config.yaml").is_file():
        raise FileNotFoundError(
            f"{run_dir / '.hydra' / 'config.yaml'} is missing: the checkpoint must sit in "
            "<run dir>/checkpoints/ of an overlapvae-train run, whose config says what to rebuild"
        )
    return path, run_dir, output_dir


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; anything else is passed to ``torch.device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Evaluate ``cfg.evaluation`` on ``cfg.checkpoint`` and write the result; return it."""
    checkpoint_path, run_dir, output_dir = locate(cfg.checkpoint)
    run_cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    device = resolve_device(cfg.device)
    model = build_model(run_cfg)
    checkpoint = torch.load(checkpoint_path, map_location=device, weights_only=False)
    model.framework.load_state_dict(checkpoint["state_dict"])
    model.framework.to(device).eval()
    suite: MetricSuite = make(cfg.evaluation)
    started = time.perf_counter()
    evaluation = suite.evaluate(posterior_encoder(model.framework), model.data, device, model.standardise)
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    result = {
        "status": "failed" if evaluation.errors else "completed",
        "checkpoint": str(checkpoint_path),
        "step": checkpoint.get("global_step"),
        "preset": choices.get("metrics@evaluation"),
        "values": evaluation.values,
        "errors": evaluation.errors,
        "seconds": evaluation.seconds,
        "num_encoded": evaluation.num_encoded,
        "wall_time_s": round(time.perf_counter() - started, 3),
        "device": str(device),
        "evaluation": OmegaConf.to_container(cfg.evaluation, resolve=True),
    }
    atomic_write_json(output_dir / cfg.output_name, result)
    return result


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="evaluate")
def main(cfg: DictConfig) -> None:
    result = evaluate(cfg)
    for key, value in result["values"].items():
        print(f"{key:50s} {value:.4f}")
    for name, error in result["errors"].items():
        print(f"FAILED {name}: {error}")
    print(f"wrote {Path(locate(cfg.checkpoint)[2]) / cfg.output_name}")
    if result["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
