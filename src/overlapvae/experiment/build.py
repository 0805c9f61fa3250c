"""Composed config → objects, shared by the apps: the one place that injects (what each class declares)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import MissingConfigException
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from overlapvae.analysis.baselines import cached_constant_baseline, cached_matched_scale
from overlapvae.data import GroundTruthData, GroundTruthDataModule
from overlapvae.experiment.hydra_setup import config_dir
from overlapvae.frameworks import AutoEncoder
from overlapvae.losses import ReconstructionLoss
from overlapvae.utils.validation import InvalidInputError

T = TypeVar("T")


def make(node: DictConfig, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` with plain Python values for every argument: lists, dicts, and a
    mode option (an enum in the schema) as its string. A missing mandatory value raises here, with
    its key."""
    plain = OmegaConf.to_container(node, resolve=True, throw_on_missing=True, enum_to_str=True)
    return instantiate(plain, _convert_="all", **kwargs)


def make_injected(node: DictConfig, **available: Any) -> Any:
    """``make`` given the arguments from ``available`` that ``node``'s class declares ``injected``."""
    return make(node, **{name: available[name] for name in get_class(node._target_).injected})


def call_with_config(function: Callable[..., T], cfg: DictConfig, *args: Any, **given: Any) -> T:
    """``function(*args, **given)`` plus, as plain values, each of its other keyword arguments that
    ``cfg`` sets (an app's config keys are the arguments of the library function it runs)."""
    signature = inspect.signature(function)
    bound = signature.bind_partial(*args, **given).arguments
    settings = [name for name in signature.parameters if name in cfg and name not in bound]
    plain = OmegaConf.to_container(OmegaConf.masked_copy(cfg, settings), resolve=True, enum_to_str=True)
    return function(*args, **plain, **given)


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
    framework = make_injected(
        cfg.framework,
        model=make(cfg.model),
        recon_loss=recon_loss,
        optimizer=make(cfg.optimizer),
        image_shape=data.image_shape,
        dataset_size=data.num_observations,
    )
    return Model(data, standardise, framework)


def build_datamodule(cfg: DictConfig, model: Model) -> GroundTruthDataModule:
    """The data module of a ``train`` config, for ``model``'s data set, standardisation and framework."""
    available = {"data": model.data, "standardise": model.standardise, "seed": cfg.seed}
    return make_injected(cfg.datamodule, **available, pair_mode=model.framework.pair_sampling)


def compose_option(group: str, name: str) -> DictConfig:
    """The composed node of option ``name`` of config group ``group`` (schema defaults included)."""

    initialised = GlobalHydra.instance().is_initialized()
    with nullcontext() if initialised else initialize_config_dir(config_dir(), version_base="1.3"):
        try:
            return compose(config_name=f"{group}/{name}")[group]
        except MissingConfigException as error:
            options = sorted(path.stem for path in (Path(config_dir()) / group).glob("*.yaml"))
            raise InvalidInputError(
                f"no {group} option {name!r}: choose from {', '.join(options)}"
            ) from error


def build_losses(
    names: list[str], standardise: bool, kernel_file: str | None = None
) -> dict[str, ReconstructionLoss]:
    """Instantiate each named ``loss/`` option (``kernel_file`` fills a kernel loss that needs one,
    e.g. ``mse_learnt``); refuse a loss that needs [0, 1] images when standardised."""
    if not names:
        raise InvalidInputError("losses=[] names no loss: audit at least one, e.g. losses=[mse,l1]")
    nodes = {name: compose_option("loss", name) for name in names}
    for name, node in nodes.items():
        if node.get("kernel") == "file":
            if kernel_file is None:
                raise InvalidInputError(f"loss {name!r} needs a kernel: add kernel_file=<path of kernel.pt>")
            node.kernel_file = kernel_file
    losses = {name: make(node) for name, node in nodes.items()}
    for name, loss in losses.items():
        if standardise and loss.requires_unit_interval_targets:
            raise InvalidInputError(
                f"loss {name!r} needs images in [0, 1]: set standardise=false to audit it"
            )
    return losses
