"""Image helpers shared by the converters: layout checks, resizing and chunked copies."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

CHUNK = 16384


def check_shape(array_shape: Sequence[int], expected: Sequence[int], what: str) -> None:
    if tuple(array_shape) != tuple(expected):
        raise ValueError(f"{what} has shape {tuple(array_shape)}, expected {tuple(expected)}")


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
