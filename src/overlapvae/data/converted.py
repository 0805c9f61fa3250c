"""Converted image arrays on disk: ``uint8 [N, C, H, W]`` ``.npy`` files that carry their own hash.

Beside ``<name>.npy`` lies ``<name>.npy.json`` with the recipe that made it (source checksums,
converter version, shape), the array file's SHA-256 and what the converter learnt on the way
(``metadata``: say, standardisation constants). A conversion whose recipe changed
(stale) or whose bytes no longer match its hash (corrupt, truncated) is rebuilt; a missing
description means the conversion never finished. The array is written to a temporary file,
hashed, and renamed into place before its description is written.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from overlapvae.utils.files import atomic_write_json, file_digest
from overlapvae.utils.validation import InvalidInputError

log = logging.getLogger(__name__)

DESCRIPTION_SUFFIX = ".json"


def description_path(path: Path) -> Path:
    return path.with_name(path.name + DESCRIPTION_SUFFIX)


def stale_reason(path: Path, recipe: dict[str, Any], verify: bool = True) -> str | None:
    """Why the conversion at ``path`` cannot be used for ``recipe`` (``None``: it can)."""
    description = description_path(path)
    if not path.exists():
        return "not converted yet"
    if not description.exists():
        return f"{description.name} is missing (the conversion did not finish)"
    try:
        saved = json.loads(description.read_text())
    except (OSError, json.JSONDecodeError) as error:
        return f"{description.name} is unreadable ({error})"
    if saved.get("recipe") != recipe:
        return f"it was made by another recipe ({saved.get('recipe')}, now {recipe})"
    if verify:
        actual = file_digest(path)
        if actual != saved.get("sha256"):
            return f"its sha256 is {actual}, {description.name} says {saved.get('sha256')} (corrupt)"
    return None


#: Writes every image into the ``uint8`` array it is given; may return metadata to keep.
Filler = Callable[[np.ndarray], "dict[str, Any] | None"]


def build_converted(path: Path, shape: tuple[int, ...], recipe: dict[str, Any], fill: Filler) -> None:
    """Write a fresh conversion: ``fill`` writes every image into a ``uint8`` array of ``shape``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    description_path(path).unlink(missing_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        array = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.uint8, shape=shape)
        metadata = fill(array) or {}
        array.flush()
        del array
        with temporary.open("rb+") as file:
            os.fsync(file.fileno())
        digest = file_digest(temporary)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    description = {"recipe": recipe, "sha256": digest, "shape": list(shape), "metadata": metadata}
    atomic_write_json(description_path(path), description)


def read_metadata(path: Path) -> dict[str, Any]:
    """What the converter of ``path`` recorded (``{}`` if nothing)."""
    return json.loads(description_path(path).read_text()).get("metadata", {})


def load_converted(path: Path, mmap: bool = False) -> Tensor:
    """The conversion as a ``uint8`` tensor: read into memory, or memory-mapped (copy-on-write)."""
    array = np.load(path, mmap_mode="c" if mmap else None)
    return torch.from_numpy(array)


def converted_images(
    path: Path,
    shape: tuple[int, ...],
    recipe: dict[str, Any],
    fill: Filler,
    mmap: bool = False,
    verify: bool = True,
) -> Tensor:
    """The images at ``path``, (re)built first when missing, stale or corrupt."""
    reason = stale_reason(path, recipe, verify)
    if reason is not None:
        if path.exists():
            log.warning("rebuilding %s: %s", path, reason)
        else:
            log.info("converting to %s", path)
        build_converted(path, shape, recipe, fill)
    images = load_converted(path, mmap)
    if tuple(images.shape) != tuple(shape):
        raise InvalidInputError(f"{path} holds an array of shape {tuple(images.shape)}, expected {shape}")
    return images
