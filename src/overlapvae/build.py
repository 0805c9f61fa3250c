"""Composed config → objects, shared by the apps: the config dir, instantiation, the framework."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from overlapvae.data import GroundTruthData
from overlapvae.frameworks import AutoEncoder
from overlapvae.losses import ReconstructionLoss


def config_dir() -> str:
    """``conf/`` inside an installed wheel, else the repository's top-level ``conf/``."""
    packaged = Path(__file__).parent / "conf"
    return str(packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "conf")


def make(node: DictConfig, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` with plain Python lists and dicts for every argument."""
    return instantiate(node, _convert_="all", **kwargs)


def resolve_standardise(requested: bool | None, recon_loss: ReconstructionLoss) -> bool:
    """Standardise inputs unless the loss needs [0, 1] targets; refuse a contradictory request."""
    needs_unit_interval = recon_loss.requires_unit_interval_targets
    if requested is None:
        return not needs_unit_interval
    if requested and needs_unit_interval:
        raise ValueError(
            f"{type(recon_loss).__name__} needs targets in [0, 1], but datamodule.standardise=true; "
            "set datamodule.standardise=false (or null to choose automatically)"
        )
    return requested


def build_framework(cfg: DictConfig, data: GroundTruthData, recon_loss: ReconstructionLoss) -> AutoEncoder:
    """The framework of a ``train`` config (model, loss and optimizer injected) for ``data``."""
    return make(
        cfg.framework,
        model=make(cfg.model),
        recon_loss=recon_loss,
        optimizer=make(cfg.optimizer),
        image_shape=data.image_shape,
    )
