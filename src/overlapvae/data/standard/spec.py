"""What a downloaded benchmark is: factors, image shape, standardisation, files and converter."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from overlapvae.data.download import RemoteFile

#: ``convert(spec, local files by role, out)`` writes every image, in grid order, into ``out``
#: (``uint8 [N, C, H, W]``).
Converter = Callable[["StandardSpec", Mapping[str, Path], np.ndarray], None]


@dataclass(frozen=True)
class StandardSpec:
    """One benchmark (PAPER §2.3–§2.4). Bump ``version`` when the converter's output changes:
    conversions made by another version are rebuilt."""

    name: str
    factor_names: tuple[str, ...]
    factor_sizes: tuple[int, ...]
    image_shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    files: Mapping[str, RemoteFile]
    convert: Converter
    version: int = 1

    @property
    def num_observations(self) -> int:
        return math.prod(self.factor_sizes)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.num_observations, *self.image_shape)

    def recipe(self) -> dict:
        """What a conversion depends on; a cached conversion with another recipe is rebuilt."""
        return {
            "dataset": self.name,
            "converter_version": self.version,
            "sources": {role: remote.md5 for role, remote in sorted(self.files.items())},
            "shape": list(self.shape),
        }
