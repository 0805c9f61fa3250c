"""Typed schemas for the config nodes users set and sweep, derived from the classes themselves.

Each schema is a dataclass built from a target's ``__init__`` signature (names, types, defaults),
less the arguments the class declares the app injects (its ``injected``), so the class stays the one
source of truth. YAML options name their class in ``_target_`` and extend their schema with
``defaults: [/schema/<group>/<name>@_here_, _self_]``: a value of the wrong type (say
``dataset.grid_spacing=abc``) or an unknown key then fails at compose time, before any training.
A mode option annotated ``Literal[...]`` becomes an enum, so a value outside its options fails at
compose time too, with the options listed (``overlapvae.experiment.build.make`` hands the constructor the
plain string). The ``trainer`` node is typed the same way from ``make_trainer`` and
``lightning.Trainer``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import lightning as L
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from overlapvae.data import (
    FolderData,
    GroundTruthDataModule,
    NpzData,
    StandardData,
    XYObject,
    XYObjectShaded,
    XYSquares,
    XYSquaresMinimal,
)
from overlapvae.frameworks import VAE, AdaGVAE, AutoEncoder, BetaTCVAE, BetaVAE
from overlapvae.losses import BCEWithLogitsLoss, CalibratedLoss, KernelLoss, L1Loss, MSELoss
from overlapvae.metrics import DCI, MIG, SAP, BetaVAEScore, FactorVAEScore, MetricSuite, Unsupervised
from overlapvae.models import Conv64, FullyConnected
from overlapvae.training.trainer import make_trainer

_PLAIN = (int, float, bool, str)


def _config_type(annotation: Any) -> Any:
    """The closest type OmegaConf can validate: plain types, Optional, List; else ``Any``."""
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if annotation in _PLAIN:
        return annotation
    if origin in (typing.Union, types.UnionType):
        members = [a for a in arguments if a is not type(None)]
        if len(members) == 1 and len(arguments) == 2:
            inner = _config_type(members[0])
            # OmegaConf validates typing.Optional, not the X | None union type
            return typing.Optional[inner] if inner is not Any else Any  # noqa: UP045
        return Any
    if origin is typing.Literal:
        return _choices(arguments) if all(isinstance(a, str) for a in arguments) else Any
    if origin in (list, tuple, Sequence, Iterable) and arguments:
        inner = _config_type(arguments[0])
        return list[inner] if inner in _PLAIN else Any
    return Any


@functools.cache
def _choices(options: tuple[str, ...]) -> type[enum.Enum]:
    """An enum whose members are ``options`` (OmegaConf lists them when it refuses a value)."""
    return enum.Enum("Choice", {option: option for option in options})


Field = tuple[str, Any, Any]


def _signature_fields(
    target: Callable[..., Any], exclude: Iterable[str], types: dict[str, Any] | None = None
) -> list[Field]:
    """One typed field per keyword argument of ``target`` (``types`` replaces an annotation)."""
    signature = inspect.signature(target)
    hints = typing.get_type_hints(target.__init__ if inspect.isclass(target) else target)
    hints.update(types or {})
    fields: list[Field] = []
    for name, parameter in signature.parameters.items():
        if name in exclude or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        config_type = _config_type(hints.get(name, Any))
        default = parameter.default
        if default is inspect.Parameter.empty:
            field = dataclasses.field(default=MISSING)
        elif isinstance(default, tuple | list):
            field = dataclasses.field(default_factory=lambda value=default: list(value))
        else:
            field = dataclasses.field(default=default)
        fields.append((name, config_type, field))
    return fields


#: Config keys that are requests ``overlapvae.experiment.build`` resolves into the injected argument
#: of the same name (``datamodule.standardise: null`` standardises unless the loss needs [0, 1] targets).
REQUESTS: dict[type, dict[str, Any]] = {GroundTruthDataModule: {"standardise": typing.Optional[bool]}}  # noqa: UP045


def schema_for(target: type, partial: bool = False) -> type:
    """A dataclass with ``_target_`` (and ``_partial_``) plus one typed field per keyword argument,
    less those the class declares the app injects (``target.injected``); ``schema_of`` names it."""
    fields: list[Any] = [("_target_", str)]  # no default: each YAML option names its class
    if partial:
        fields.append(("_partial_", bool, dataclasses.field(default=True)))
    fields += _signature_fields(target, getattr(target, "injected", ()))
    fields += [
        (name, kind, dataclasses.field(default=MISSING)) for name, kind in REQUESTS.get(target, {}).items()
    ]
    return dataclasses.make_dataclass(f"{target.__name__}Config", fields, namespace={"schema_of": target})


#: Lightning's precision settings (its legacy aliases such as ``32`` are not offered).
Precision = typing.Literal[
    "64-true", "32-true", "16-true", "bf16-true", "16-mixed", "bf16-mixed", "transformer-engine"
]
#: Types for the ``lightning.Trainer`` keywords whose annotation is a union OmegaConf cannot check.
TRAINER_TYPES: dict[str, Any] = {
    "accelerator": str,
    "strategy": str,
    "precision": Precision | None,
    "max_time": str | None,
    "deterministic": bool | None,
    "gradient_clip_val": float | None,
    "default_root_dir": str | None,
}
#: ``Trainer`` arguments the training app passes itself.
TRAINER_FROM_APP = ("callbacks", "logger", "plugins")


def trainer_schema() -> type:
    """The ``trainer`` node: ``make_trainer``'s options and every ``lightning.Trainer`` keyword,
    typed (``devices`` stays untyped: an int, a list of ints or ``auto``; checked before a run)."""
    fields: list[Any] = [("_target_", str)]
    fields += _signature_fields(make_trainer, TRAINER_FROM_APP)
    fields += _signature_fields(L.Trainer, TRAINER_FROM_APP, TRAINER_TYPES)
    return dataclasses.make_dataclass("TrainerConfig", fields, namespace={"schema_of": make_trainer})


TrainerConfig = trainer_schema()


@dataclasses.dataclass
class TrainConfig:
    """The root of ``conf/train.yaml``: one integer seed, names, and the composed groups."""

    seed: int = 0
    task_name: str = "train"
    sweep_name: str = "train"
    scale_name: str = "custom"
    paper_steps: int = 57600
    tags: list[str] = dataclasses.field(default_factory=list)
    schedule: Any = MISSING
    dataset: Any = MISSING
    datamodule: Any = MISSING
    framework: Any = MISSING
    model: Any = MISSING
    loss: Any = MISSING
    optimizer: Any = MISSING
    trainer: TrainerConfig = MISSING
    logger: Any = dataclasses.field(default_factory=dict)
    callbacks: Any = dataclasses.field(default_factory=dict)
    paths: Any = MISSING
    evaluation: Any = dataclasses.field(default_factory=dict)
    extras: Any = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class EvaluateConfig:
    """The root of ``conf/evaluate.yaml``: which checkpoint, on which device, into which file."""

    checkpoint: str = MISSING
    device: str = "auto"
    output_name: str = "eval_metrics.json"
    task_name: str = "evaluate"
    evaluation: Any = MISSING
    paths: Any = MISSING


@dataclasses.dataclass
class VerdictConfig:
    constant_cv: float = 0.01
    min_rank_correlation: float = 0.2


@dataclasses.dataclass
class AuditConfig:
    """The root of ``conf/audit.yaml``: a data set, the losses to audit it under, the paper's sizes."""

    dataset: Any = MISSING
    losses: list[str] = dataclasses.field(default_factory=lambda: ["mse", "l1"])
    factors: list[str] | None = None
    num_traversals: int = 256
    num_pairs: int = 50_000
    triplets_per_traversal: int = 64
    standardise: bool = False
    seed: int = 777
    device: str = "auto"
    thresholds: VerdictConfig = dataclasses.field(default_factory=VerdictConfig)
    checkpoint: str | None = None
    model_traversals: int = 100
    kernel_file: str | None = None
    task_name: str = "audit"
    paths: Any = MISSING


@dataclasses.dataclass
class PrepareConfig:
    """The root of ``conf/prepare.yaml``: the data set to download and convert ahead of time."""

    dataset: Any = MISSING
    task_name: str = "prepare"
    paths: Any = MISSING


@dataclasses.dataclass
class LearnKernelConfig:
    """The root of ``conf/learn_kernel.yaml``: the data set, the kernel's radius and the training."""

    dataset: Any = MISSING
    radius: int = 63
    steps: int = 28_800
    pairs_per_step: int = 4096
    lr: float = 1e-3
    rank_strength: float = 0.01
    symmetry_weight: float = 1.0
    l2_weight: float = 1e-3
    evaluation_pairs: int = 4096
    seed: int = 777
    device: str = "auto"
    task_name: str = "learn_kernel"
    paths: Any = MISSING


SCHEMAS: dict[str, dict[str, tuple[type, bool]]] = {
    "dataset": {
        "xysquares": (XYSquares, False),
        "xysquares_minimal": (XYSquaresMinimal, False),
        "xyobject": (XYObject, False),
        "xyobject_shaded": (XYObjectShaded, False),
        "standard": (StandardData, False),
        "npz": (NpzData, False),
        "folder": (FolderData, False),
    },
    "datamodule": {"ground_truth": (GroundTruthDataModule, False)},
    "framework": {
        "ae": (AutoEncoder, False),
        "vae": (VAE, False),
        "betavae": (BetaVAE, False),
        "betatcvae": (BetaTCVAE, False),
        "adagvae": (AdaGVAE, False),
    },
    "model": {"conv64": (Conv64, True), "fc": (FullyConnected, True)},
    "loss": {
        "mse": (MSELoss, False),
        "l1": (L1Loss, False),
        "bce": (BCEWithLogitsLoss, False),
        "kernel": (KernelLoss, False),
        "calibrated": (CalibratedLoss, False),
    },
    "metrics": {"suite": (MetricSuite, False)},
    "metric": {
        "mig": (MIG, False),
        "dci": (DCI, False),
        "sap": (SAP, False),
        "factor_vae": (FactorVAEScore, False),
        "beta_vae": (BetaVAEScore, False),
        "unsupervised": (Unsupervised, False),
    },
}


def register_schemas() -> None:
    """Store every schema under ``schema/<group>/<name>`` and the app roots as ``<app>_schema``."""
    store = ConfigStore.instance()
    for group, options in SCHEMAS.items():
        for name, (target, partial) in options.items():
            store.store(group=f"schema/{group}", name=name, node=schema_for(target, partial=partial))
    store.store(name="train_schema", node=TrainConfig)
    store.store(name="evaluate_schema", node=EvaluateConfig)
    store.store(name="audit_schema", node=AuditConfig)
    store.store(name="learn_kernel_schema", node=LearnKernelConfig)
    store.store(name="prepare_schema", node=PrepareConfig)
