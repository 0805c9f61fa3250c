"""A trained run loaded back: rebuilt from its saved config (the one route from config to objects,
``overlapvae.experiment.build``) with its checkpoint's weights."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from overlapvae.experiment.build import Model, build_model
from overlapvae.runs.checkpoints import locate, read_checkpoint
from overlapvae.utils.validation import InvalidInputError


@dataclass
class TrainedRun:
    """A trained run loaded back: its data set, scale and framework (weights loaded, in eval mode
    on the device), its saved config, where it lives and the step its checkpoint holds."""

    model: Model
    config: DictConfig
    checkpoint: Path
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
    return TrainedRun(model, config, path, output_dir, state.get("global_step"))
