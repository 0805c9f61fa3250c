"""Image helpers shared by the converters: layout checks, resizing and chunked copies."""

from __future__ import annotations

from collections.abc import Container, Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from overlapvae.utils.validation import InvalidInputError

CHUNK = 16384


def require_keys(container: Container[str], keys: Sequence[str], source: Path, what: str) -> None:
    """Raise naming ``source`` and its contents when any of ``keys`` is missing from it."""
    missing = [key for key in keys if key not in container]
    if missing:
        raise InvalidInputError(f"{source} has no {missing} (it holds {sorted(container)}): not {what}")


def check_shape(array_shape: Sequence[int], expected: Sequence[int], what: str) -> None:
    if tuple(array_shape) != tuple(expected):
        raise InvalidInputError(f"{what} has shape {tuple(array_shape)}, expected {tuple(expected)}")


def resize_square(images: np.ndarray, size: int) -> np.ndarray:
    """``uint8 [N, H, W]`` or ``[N, H, W, C]`` → the same at ``size × size``, by PIL's bilinear
    filter (antialiased when shrinking), the resize of the reference conversion (PAPER §2.3)."""
    resized = [
        np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR)) for image in images
    ]
    return np.stack(resized).reshape(len(images), size, size, *images.shape[3:])


def to_channels_first(images: np.ndarray) -> np.ndarray:
    """``[N, H, W]`` → ``[N, 1, H, W]``; ``[N, H, W, C]`` → ``[N, C, H, W]``."""
    return images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
