"""XYObject and XYObjectShaded (disent ``XYObjectData``): one square that moves, scales, changes colour.

Both render the same 75,000 images; they differ only in how the colour is factorised, which is the
point of the pair: the same data with different ground truth gets different disentanglement scores.
"""

from __future__ import annotations

import torch
from torch import Tensor

from overlapvae.data.squares import SquareLayers, SquaresData, lit_image_std
from overlapvae.utils.validation import InvalidInputError

#: The ``rainbow`` hues in factor order: red, yellow, green, cyan, blue, magenta.
RAINBOW_HUES = ((255, 0, 0), (255, 255, 0), (0, 255, 0), (0, 255, 255), (0, 0, 255), (255, 0, 255))


class XYObject(SquaresData):
    """A square at (x, y) with one of several sizes and ``levels × 6`` colours (disent ``XYObjectData``).

    Colour index ``c`` has brightness level ``b = c // 6`` and hue ``h = c % 6`` (brightness-major);
    its channel values are ``hue · (b + 1) // levels`` (integer division). The square's top-left
    corner is ``spacing · (x, y) + (max_size − size) // 2``.

    ``mean``/``std`` follow the convention of disent's constants (0.0098188, 0.0526324): the mean pixel
    value, and the mean over images of each image's per-channel std with ddof = 1 (both exact).
    """

    factor_names: tuple[str, ...] = ("x", "y", "scale", "color")
    channel_owners = (0, 0, 0)

    def __init__(
        self,
        image_size: int = 64,
        grid_spacing: int = 2,
        min_square_size: int = 7,
        max_square_size: int = 15,
        square_size_step: int = 2,
        brightness_levels: int = 4,
    ) -> None:
        if grid_spacing < 1:
            raise InvalidInputError(f"grid_spacing={grid_spacing} is invalid: choose an integer >= 1")
        if not 1 <= min_square_size <= max_square_size <= image_size:
            raise InvalidInputError(
                f"square sizes {min_square_size}..{max_square_size} are invalid: "
                f"need 1 <= min_square_size <= max_square_size <= image_size={image_size}"
            )
        if square_size_step < 1:
            raise InvalidInputError(f"square_size_step={square_size_step} is invalid: choose an integer >= 1")
        if brightness_levels < 1:
            raise InvalidInputError(f"brightness_levels={brightness_levels} is invalid: choose an integer >= 1")
        self.grid_spacing = grid_spacing
        self.max_square_size = max_square_size
        self.square_sizes = tuple(range(min_square_size, max_square_size + 1, square_size_step))
        self.brightness_levels = brightness_levels
        self.positions = (image_size - max_square_size) // grid_spacing + 1
        self.image_shape = (3, image_size, image_size)
        self.factor_sizes = self._factor_sizes()
        self.mean, self.std = self._pixel_statistics()

    def _factor_sizes(self) -> tuple[int, ...]:
        colours = self.brightness_levels * len(RAINBOW_HUES)
        return (self.positions, self.positions, len(self.square_sizes), colours)

    def palette(self) -> Tensor:
        """``float32 [levels · 6, 3]`` channel values (0..255), brightness-major."""
        hues = torch.tensor(RAINBOW_HUES, dtype=torch.long)
        levels = torch.arange(1, self.brightness_levels + 1).view(-1, 1, 1)
        return (hues * levels // self.brightness_levels).reshape(-1, 3).to(torch.float32)

    def _pixel_statistics(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        _, height, width = self.image_shape
        colours = self.palette().to(torch.float64) / 255.0
        areas = torch.tensor(self.square_sizes) ** 2
        mean = colours.mean(dim=0) * areas.to(torch.float64).mean() / (height * width)
        image_std = colours.mean(dim=0) * lit_image_std(areas, height * width).mean()
        return tuple(mean.tolist()), tuple(image_std.tolist())

    def _lookup_tables(self) -> dict[str, Tensor]:
        return {
            **super()._lookup_tables(),
            "palette": self.palette(),
            "square_sizes": torch.tensor(self.square_sizes),
        }

    def _colour_index(self, factors: Tensor) -> Tensor:
        return factors[:, 3]

    def layers(self, factors: Tensor) -> SquareLayers:
        tables = self._constants(factors.device)
        sizes = tables["square_sizes"][factors[:, 2:3]]
        margin = torch.div(self.max_square_size - sizes, 2, rounding_mode="floor")
        return SquareLayers(
            tops=self.grid_spacing * factors[:, 1:2] + margin,
            lefts=self.grid_spacing * factors[:, 0:1] + margin,
            sizes=sizes,
            colours=tables["palette"][self._colour_index(factors)].unsqueeze(1),
        )


class XYObjectShaded(XYObject):
    """XYObject with the colour split into ``intensity`` (brightness level) and hue ``color`` factors."""

    factor_names = ("x", "y", "scale", "intensity", "color")

    def _factor_sizes(self) -> tuple[int, ...]:
        return (
            self.positions,
            self.positions,
            len(self.square_sizes),
            self.brightness_levels,
            len(RAINBOW_HUES),
        )

    def _colour_index(self, factors: Tensor) -> Tensor:
        return factors[:, 3] * len(RAINBOW_HUES) + factors[:, 4]
