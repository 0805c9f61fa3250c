"""The ground-truth data abstraction: a full grid of factors and a batch renderer.

Factor indices are integers in ``[0, size_i)``; observation indices enumerate the grid in
row-major (C) order, so the last factor varies fastest, as in disent and disentanglement_lib.
"""

from __future__ import annotations

import hashlib
import json
import math
from abc import ABC, abstractmethod

import torch
from torch import Tensor

from overlapvae.data.standardise import apply_standardisation, standardise_coefficients
from overlapvae.utils.validation import InvalidInputError


#: Observations rendered into a data set's fingerprint, and the seed that draws them.
FINGERPRINT_SAMPLE = 256
FINGERPRINT_SEED = 20230453


class GroundTruthData(ABC):
    """A data set whose every observation is fixed by a vector of discrete ground-truth factors.

    Subclasses define ``factor_names``, ``factor_sizes``, ``image_shape`` (C, H, W), the
    per-channel standardisation constants ``mean`` and ``std`` (the paper's Table A2), and ``render``.
    """

    factor_names: tuple[str, ...]
    factor_sizes: tuple[int, ...]
    image_shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    @property
    def num_observations(self) -> int:
        return math.prod(self.factor_sizes)

    def _constants(self, device: torch.device) -> dict[str, Tensor]:
        """Small per-device constant tensors, built once so hot paths never copy host data."""
        cache: dict[torch.device, dict[str, Tensor]] = self.__dict__.setdefault("_constants_cache", {})
        if device not in cache:
            strides = [1] * self.num_factors
            for i in range(self.num_factors - 2, -1, -1):
                strides[i] = strides[i + 1] * self.factor_sizes[i + 1]
            scale, shift = standardise_coefficients(self.mean, self.std, device)
            cache[device] = {
                "strides": torch.tensor(strides, dtype=torch.long, device=device),
                "sizes": torch.tensor(self.factor_sizes, dtype=torch.long, device=device),
                "scale": scale,
                "shift": shift,
                **{name: value.to(device) for name, value in self._lookup_tables().items()},
            }
        return cache[device]

    def _lookup_tables(self) -> dict[str, Tensor]:
        """Host tensors a subclass's renderer indexes into; moved to each device once."""
        return {}

    def factors_to_indices(self, factors: Tensor) -> Tensor:
        """Ravel ``LongTensor[..., F]`` factor vectors into observation indices ``LongTensor[...]``."""
        self._check_factor_shape(factors)
        return (factors * self._constants(factors.device)["strides"]).sum(dim=-1)

    def indices_to_factors(self, indices: Tensor) -> Tensor:
        """Unravel observation indices ``LongTensor[...]`` into factor vectors ``LongTensor[..., F]``."""
        if indices.dtype != torch.long:
            raise TypeError(f"observation indices must be torch.long, got {indices.dtype}")
        constants = self._constants(indices.device)
        strides, sizes = constants["strides"], constants["sizes"]
        return torch.div(indices.unsqueeze(-1), strides, rounding_mode="floor") % sizes

    def sample_factors(self, num: int, generator: torch.Generator) -> Tensor:
        """Draw ``num`` factor vectors uniformly over the full grid, on the generator's device."""
        indices = torch.randint(
            0, self.num_observations, (num,), generator=generator, device=generator.device
        )
        return self.indices_to_factors(indices)

    def check_factors(self, factors: Tensor) -> None:
        """Raise ``ValueError`` if any factor lies outside its range (costs a device sync)."""
        self._check_factor_shape(factors)
        sizes = self._constants(factors.device)["sizes"]
        bad = (factors < 0) | (factors >= sizes)
        if bool(bad.any()):
            column = int(bad.any(dim=0).nonzero()[0])
            raise InvalidInputError(
                f"factor {self.factor_names[column]!r} has values outside [0, {self.factor_sizes[column]}): "
                f"{factors[..., column][bad[..., column]].unique().tolist()[:8]}"
            )

    def _check_factor_shape(self, factors: Tensor) -> None:
        if factors.dtype != torch.long or factors.shape[-1:] != (self.num_factors,):
            raise InvalidInputError(
                f"expected factors as torch.long with last dimension {self.num_factors} "
                f"({', '.join(self.factor_names)}), got dtype {factors.dtype} "
                f"and shape {tuple(factors.shape)}"
            )

    def fingerprint(self) -> str:
        """A digest of what fixes this data set's images: its class, factor grid, image shape,
        standardisation constants and a seeded sample of rendered observations. Keys statistics
        measured on the data (cached until any of these changes)."""
        factors = self.sample_factors(FINGERPRINT_SAMPLE, torch.Generator().manual_seed(FINGERPRINT_SEED))
        header = [type(self).__qualname__, self.factor_sizes, self.image_shape, self.mean, self.std]
        digest = hashlib.sha256(json.dumps(header).encode())
        digest.update(self.render(factors).cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()

    def square_grid(self) -> tuple[int, int, int] | None:
        """``(spacing, square size, positions)`` along each axis for data whose squares move on a
        pixel grid (the overlap diagnostic of the paper's §2.1); ``None`` for other data."""
        return None

    @abstractmethod
    def render(self, factors: Tensor) -> Tensor:
        """Render ``LongTensor[B, F]`` factors as ``uint8`` images ``[B, C, H, W]`` on their device."""

    def render_standardised(self, factors: Tensor) -> Tensor:
        """Render as ``float32`` images standardised per channel with ``mean`` and ``std``."""
        constants = self._constants(factors.device)
        return apply_standardisation(self.render(factors), constants["scale"], constants["shift"])

    def render_float(self, factors: Tensor, standardise: bool = True) -> Tensor:
        """``float32`` images as a model sees them: standardised, or on the [0, 1] scale
        (what BCE targets need) when ``standardise`` is false."""
        if standardise:
            return self.render_standardised(factors)
        return self.render(factors).to(torch.float32).div_(255.0)
