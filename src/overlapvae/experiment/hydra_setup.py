"""What every command sets up before Hydra composes: where ``conf/`` is, the typed schemas and the
``run_key`` resolver in Hydra's stores, and Lightning's console noise filtered."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from omegaconf import OmegaConf

from overlapvae.experiment.schemas import register_schemas
from overlapvae.runs.directory import run_key


def config_dir() -> str:
    """``conf/`` inside an installed wheel, else the repository's top-level ``conf/``."""
    packaged = Path(__file__).parents[1] / "conf"
    return str(packaged if packaged.is_dir() else Path(__file__).resolve().parents[3] / "conf")


def register() -> None:
    """Store the schemas (``schema/<group>/<name>``, ``<app>_schema``) and register the resolvers;
    safe to call more than once."""
    register_schemas()
    if not OmegaConf.has_resolver("run_key"):
        OmegaConf.register_new_resolver("run_key", run_key)


def quiet_lightning() -> None:
    """Leave out of a command's output the warnings that say nothing about a run (device data, no
    loader workers by design) and Lightning's advertisements."""
    warnings.filterwarnings("ignore", message=r".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(
        lambda record: "💡 Tip" not in record.getMessage()
    )
