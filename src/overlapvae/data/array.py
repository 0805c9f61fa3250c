"""Ground-truth data held as an array of images in grid order (downloaded or the user's own).

Observation ``i`` is the image of the factor vector ``indices_to_factors(i)``; a batch is one
gather. ``storage`` picks where the images live: ``memory`` (host RAM, the default),
``mmap`` (pages read from the converted file on demand, for data larger than RAM) or
``device`` (copied once to the training device, where batches are then gathered with no
host work at all).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from overlapvae.data.base import GroundTruthData
from overlapvae.utils.validation import InvalidInputError

STORAGES = ("memory", "mmap", "device")


def check_storage(storage: str) -> None:
    if storage not in STORAGES:
        raise InvalidInputError(f"storage={storage!r} is invalid: choose one of {', '.join(STORAGES)}")


class ArrayData(GroundTruthData):
    """``uint8 [N, C, H, W]`` images whose row-major order enumerates the factor grid."""

    def __init__(
        self,
        images: Tensor,
        factor_names: Sequence[str],
        factor_sizes: Sequence[int],
        mean: Sequence[float],
        std: Sequence[float],
        storage: str = "memory",
    ) -> None:
        check_storage(storage)
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise InvalidInputError(f"images must be uint8 [N, C, H, W], got {images.dtype} {tuple(images.shape)}")
        if len(factor_names) != len(factor_sizes):
            raise InvalidInputError(f"{len(factor_names)} factor names for {len(factor_sizes)} factor sizes")
        if images.shape[0] != math.prod(factor_sizes):
            raise InvalidInputError(
                f"{images.shape[0]} images cannot fill the factor grid {tuple(factor_sizes)} "
                f"({math.prod(factor_sizes)} combinations)"
            )
        if not len(mean) == len(std) == images.shape[1]:
            raise InvalidInputError(
                f"mean and std need {images.shape[1]} channels, got {list(mean)} and {list(std)}"
            )
        self.images = images
        self.factor_names = tuple(factor_names)
        self.factor_sizes = tuple(int(size) for size in factor_sizes)
        self.image_shape = tuple(images.shape[1:])
        self.mean = tuple(float(value) for value in mean)
        self.std = tuple(float(value) for value in std)
        self.storage = storage

    def _lookup_tables(self) -> dict[str, Tensor]:
        return {"images": self.images} if self.storage == "device" else {}

    def render(self, factors: Tensor) -> Tensor:
        """Gather the images of ``LongTensor[B, F]`` factors onto the factors' device."""
        indices = self.factors_to_indices(factors)
        if self.storage == "device":
            return self._constants(factors.device)["images"][indices]
        if indices.device == self.images.device:
            return self.images[indices]
        batch = self.images[indices.cpu()]
        if factors.device.type == "cuda":
            batch = batch.pin_memory()
        return batch.to(factors.device, non_blocking=True)
