"""Refusing a config value that is not one of its options, with a message that names the value and
the options to choose from."""

from __future__ import annotations

from collections.abc import Collection


def check_choice(name: str, value: object, choices: Collection[str]) -> None:
    """Raise ``ValueError`` naming ``name=value`` and ``choices`` unless ``value`` is one of them."""
    if value not in choices:
        raise ValueError(f"{name}={value!r} is invalid: choose one of {', '.join(choices)}")
