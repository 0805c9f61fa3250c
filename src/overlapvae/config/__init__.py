"""Structured config schemas registered in Hydra's ConfigStore."""

from overlapvae.config.schemas import register_schemas, schema_for

__all__ = ["register_schemas", "schema_for"]
