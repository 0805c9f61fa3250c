"""Structured config schemas registered in Hydra's ConfigStore, and the checks of a composed config
that types alone cannot express."""

from overlapvae.config.checks import check_train_config
from overlapvae.config.schemas import register_schemas, schema_for

__all__ = ["check_train_config", "register_schemas", "schema_for"]
