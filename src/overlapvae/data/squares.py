"""Batched painting of axis-aligned filled squares, shared by every procedural data set.

A square is a rank-one image per channel: ``colour[c] · rows[h] · cols[w]``. When each channel
is painted by at most one square (RGB XYSquares, XYObject), a batch is one broadcast product
``(colour·scale·rows) ⊗ cols + shift`` that writes the finished float image in a single pass.
Squares that share a channel (greyscale XYSquares) are summed with one batched matrix product
and capped, so overlaps paint their union. No per-sample Python either way.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor

from overlapvae.data.base import GroundTruthData
from overlapvae.utils.validation import InvalidInputError


@dataclass(frozen=True)
class SquareLayers:
    """``S`` squares per image: top-left corners, side lengths and channel values in 0..255.

    ``tops``, ``lefts`` and ``sizes`` are ``long [B, S]``; ``colours`` is ``float32 [B, S, C]``.
    """

    tops: Tensor
    lefts: Tensor
    sizes: Tensor
    colours: Tensor


def lit_image_std(lit_pixels: Tensor, num_pixels: int) -> Tensor:
    """Sample std (ddof = 1) of a channel with ``lit_pixels`` ones among ``num_pixels`` values.

    The standardisation constants of the paper's Table A2 (and of disent's XYObject) are means
    over images of this per-image, per-channel std (e.g. XYSquares: 64 lit pixels of 4096 give
    exactly 1/√65 = 0.1240347).
    """
    lit = lit_pixels.to(torch.float64)
    return torch.sqrt(lit * (num_pixels - lit) / (num_pixels * (num_pixels - 1)))


def _coverage(starts: Tensor, sizes: Tensor, length: int) -> Tensor:
    """``bool [B, S, length]``: True where a pixel row/column lies inside the square."""
    positions = torch.arange(length, device=starts.device)
    return (positions >= starts.unsqueeze(-1)) & (positions < (starts + sizes).unsqueeze(-1))


def composite(
    layers: SquareLayers,
    height: int,
    width: int,
    owners: Tensor | None = None,
    saturation: float | None = None,
    scale: Tensor | None = None,
    shift: Tensor | None = None,
) -> Tensor:
    """Paint ``layers`` as ``[B, C, H, W]`` images.

    Without ``scale``/``shift`` the result is the ``uint8`` channel values; with them it is
    ``float32`` ``shift + scale · value`` (standardisation fused into the same pass).
    ``owners`` (``long [C]``) names the one square that paints each channel; ``None`` means
    squares share channels, and their summed colour is capped at ``saturation`` so that
    overlapping squares of one value paint their union.
    """
    batch, _, channels = layers.colours.shape
    rows = _coverage(layers.tops, layers.sizes, height)
    cols = _coverage(layers.lefts, layers.sizes, width)
    as_uint8 = scale is None
    if owners is not None:
        colour = layers.colours[:, owners, torch.arange(channels, device=owners.device)]
        dtype = torch.uint8 if as_uint8 else torch.float32
        weights = colour.to(dtype) if as_uint8 else colour * scale
        weighted_rows = weights.unsqueeze(-1) * rows[:, owners].to(dtype)
        images = weighted_rows.unsqueeze(-1) * cols[:, owners].to(dtype).unsqueeze(2)
        return images if as_uint8 else images.add_(shift.view(1, channels, 1, 1))
    if saturation is None:
        raise InvalidInputError("squares that share channels need a saturation value")
    left = (layers.colours.unsqueeze(-1) * rows.unsqueeze(2)).permute(0, 2, 3, 1).flatten(1, 2)
    images = (
        torch.bmm(left, cols.to(torch.float32)).clamp_(max=saturation).view(batch, channels, height, width)
    )
    if as_uint8:
        return images.round_().to(torch.uint8)
    return images.mul_(scale.view(1, channels, 1, 1)).add_(shift.view(1, channels, 1, 1))


class SquaresData(GroundTruthData):
    """A procedural data set drawn as filled squares: subclasses turn factors into ``SquareLayers``."""

    #: The square that paints each channel, or ``None`` if squares share channels.
    channel_owners: tuple[int, ...] | None = None
    #: Channel value at which squares sharing a channel saturate (their union's value).
    saturation: float | None = None

    def _lookup_tables(self) -> dict[str, Tensor]:
        if self.channel_owners is None:
            return {}
        return {"channel_owners": torch.tensor(self.channel_owners, dtype=torch.long)}

    @abstractmethod
    def layers(self, factors: Tensor) -> SquareLayers:
        """The squares that make up each image of ``LongTensor[B, F]`` factors."""

    def _paint(self, factors: Tensor, scale: Tensor | None = None, shift: Tensor | None = None) -> Tensor:
        self._check_factor_shape(factors)
        _, height, width = self.image_shape
        owners = self._constants(factors.device).get("channel_owners")
        return composite(self.layers(factors), height, width, owners, self.saturation, scale, shift)

    def render(self, factors: Tensor) -> Tensor:
        return self._paint(factors)

    def render_standardised(self, factors: Tensor) -> Tensor:
        constants = self._constants(factors.device)
        return self._paint(factors, constants["scale"], constants["shift"])
