"""Composed config → objects, shared by the apps: the config dir, instantiation, data and framework."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from overlapvae.analysis.baselines import cached_constant_baseline, cached_matched_scale
from overlapvae.data import GroundTruthData
from overlapvae.frameworks import AutoEncoder
from overlapvae.losses import ReconstructionLoss
from overlapvae.utils.validation import InvalidInputError


def config_dir() -> str:
    """``conf/`` inside an installed wheel, else the repository's top-level ``conf/``."""
    packaged = Path(__file__).parent / "conf"
    return str(packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "conf")


def make(node: DictConfig, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` with plain Python values for every argument: lists, dicts, and a
    mode option (an enum in the schema) as its string. A missing mandatory value raises here, with
    its key."""
    plain = OmegaConf.to_container(node, resolve=True, throw_on_missing=True, enum_to_str=True)
    return instantiate(plain, _convert_="all", **kwargs)


def resolve_standardise(requested: bool | None, recon_loss: ReconstructionLoss) -> bool:
    """Standardise inputs unless the loss needs [0, 1] targets; refuse a contradictory request."""
    needs_unit_interval = recon_loss.requires_unit_interval_targets
    if requested is None:
        return not needs_unit_interval
    if requested and needs_unit_interval:
        raise InvalidInputError(
            f"{type(recon_loss).__name__} needs targets in [0, 1], but datamodule.standardise=true; "
            "set datamodule.standardise=false (or null to choose automatically)"
        )
    return requested


def fit_loss_to_data(
    recon_loss: ReconstructionLoss, data: GroundTruthData, standardise: bool, cache_dir: str | None
) -> None:
    """Set what a loss measures on its data before training (each measured once, kept in
    ``cache_dir``): with ``match_scale``, the factor that matches its random-pair distances to MSE's;
    for a loss whose start is smoothed, the radius it starts from, the range of the data's values."""
    if recon_loss.match_scale:
        recon_loss.data_scale = cached_matched_scale(data, recon_loss, standardise, cache_dir)
    if recon_loss.smooths_its_start:
        baseline = cached_constant_baseline(data, recon_loss, standardise, cache_dir)
        recon_loss.smoothing_start = baseline.value_range


@dataclass
class Model:
    """What a ``train`` config defines apart from the trainer: the data set, whether its images are
    standardised for the loss, and the framework (model, loss and optimizer injected)."""

    data: GroundTruthData
    standardise: bool
    framework: AutoEncoder


def build_model(cfg: DictConfig) -> Model:
    """The data set and framework of a composed ``train`` config (or a run's saved one)."""
    data = make(cfg.dataset)
    recon_loss = make(cfg.loss)
    standardise = resolve_standardise(cfg.datamodule.get("standardise"), recon_loss)
    fit_loss_to_data(recon_loss, data, standardise, cfg.paths.get("cache_dir"))
    framework = make(
        cfg.framework,
        model=make(cfg.model),
        recon_loss=recon_loss,
        optimizer=make(cfg.optimizer),
        image_shape=data.image_shape,
    )
    return Model(data, standardise, framework)
