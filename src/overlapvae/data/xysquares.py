"""XYSquares: the adversarial data set of Michlo et al. (2023), §5.1.

Up to three squares move on a grid. With ``grid_spacing == square_size`` no two positions of a
square overlap, so the pixel-wise distance between any two observations one factor apart is the
same; smaller spacings add overlap and give the reconstruction loss an order to perceive.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from overlapvae.data.squares import SquareLayers, SquaresData, lit_image_std
from overlapvae.utils.validation import InvalidInputError

_COLOUR_NAMES = ("R", "G", "B")


def _overlap_signatures(starts: Tensor, size: int, count: int) -> tuple[Tensor, Tensor, Tensor]:
    """Distinct 1-D overlap lengths of ``count`` intervals placed independently at ``starts``.

    Returns ``(lengths [U, T], weights [U], signs [T])`` over the ``T = 2^count − 1`` non-empty
    subsets of intervals: the length of each subset's common intersection for every distinct
    placement pattern, the fraction of placements with that pattern, and the inclusion–exclusion
    sign of each subset.
    """
    placements = torch.cartesian_prod(*([starts] * count)).view(-1, count)
    subsets = [[i for i in range(count) if mask >> i & 1] for mask in range(1, 2**count)]
    lengths = []
    for subset in subsets:
        chosen = placements[:, subset]
        lengths.append((chosen.min(dim=1).values + size - chosen.max(dim=1).values).clamp(min=0))
    unique, counts = torch.unique(torch.stack(lengths, dim=1), dim=0, return_counts=True)
    signs = torch.tensor([(-1) ** (len(subset) + 1) for subset in subsets], dtype=torch.long)
    return unique, counts.to(torch.float64) / placements.shape[0], signs


def _union_area_distribution(starts: Tensor, size: int, count: int) -> tuple[Tensor, Tensor]:
    """Exact distribution ``(areas, probabilities)`` of the union area of ``count`` squares.

    Rows and columns are placed independently, so the area of every subset's intersection is the
    product of its 1-D overlap lengths, and inclusion–exclusion gives the union's area.
    """
    if count == 0:
        return torch.zeros(1, dtype=torch.long), torch.ones(1, dtype=torch.float64)
    lengths, weights, signs = _overlap_signatures(starts, size, count)
    areas = (lengths * signs) @ lengths.T
    return areas.flatten(), (weights[:, None] * weights[None, :]).flatten()


class XYSquares(SquaresData):
    """Configurable XYSquares with the grid centred in the image (disent's ``XYSquaresData``).

    Factors ``x_R, y_R, x_G, y_G, x_B, y_B`` (x indexes columns, y rows). In RGB mode square ``i``
    is drawn only in channel ``i``; in greyscale mode every square is drawn in the one channel and
    overlapping squares paint their union. The standardisation
    constants follow the paper's Table A2 exactly (see ``_pixel_statistics``).
    """

    def __init__(
        self,
        square_size: int = 8,
        image_size: int = 64,
        grid_spacing: int | None = None,
        grid_size: int | None = None,
        num_squares: int = 3,
        rgb: bool = True,
        fill_value: int = 255,
    ) -> None:
        spacing = square_size if grid_spacing is None else grid_spacing
        if image_size < 1:
            raise InvalidInputError(f"image_size={image_size} is invalid: it must be at least 1 pixel")
        if not 1 <= square_size <= image_size:
            raise InvalidInputError(
                f"square_size={square_size} does not fit: choose 1 <= square_size <= image_size={image_size}"
            )
        if spacing < 1:
            raise InvalidInputError(
                f"grid_spacing={spacing} is invalid: the step between square positions must be >= 1 pixel "
                f"(grid_spacing={square_size} = square_size gives no overlap, smaller values add overlap)"
            )
        if not 1 <= num_squares <= 3:
            raise InvalidInputError(f"num_squares={num_squares} is invalid: choose 1, 2 or 3")
        if not 1 <= fill_value <= 255:
            raise InvalidInputError(f"fill_value={fill_value} is invalid: choose an integer in 1..255")
        fitting = (image_size - square_size) // spacing + 1
        if grid_size is not None and not 1 <= grid_size <= fitting:
            raise InvalidInputError(
                f"grid_size={grid_size} is invalid: with square_size={square_size} and "
                f"grid_spacing={spacing}, 1 to {fitting} positions fit in image_size={image_size}; "
                "lower grid_size or grid_spacing"
            )
        self.square_size = square_size
        self.grid_spacing = spacing
        self.num_squares = num_squares
        self.rgb = rgb
        self.fill_value = fill_value
        self.positions = fitting if grid_size is None else grid_size
        self.offset = (image_size - (square_size + (self.positions - 1) * spacing)) // 2
        if rgb:
            self.factor_names = tuple(f"{a}_{c}" for c in _COLOUR_NAMES[:num_squares] for a in "xy")
        else:
            self.factor_names = tuple(f"{a}_{i}" for i in range(num_squares) for a in "xy")
        self.factor_sizes = (self.positions,) * (2 * num_squares)
        self.image_shape = (3 if rgb else 1, image_size, image_size)
        if rgb:  # square i paints channel i; a channel without a square takes square 0's zero colour
            self.channel_owners = tuple(c if c < num_squares else 0 for c in range(3))
        elif num_squares == 1:
            self.channel_owners = (0,)
        else:
            self.saturation = float(fill_value)
        self.mean, self.std = self._pixel_statistics()

    def _squares_per_channel(self) -> list[int]:
        if self.rgb:
            return [1 if c < self.num_squares else 0 for c in range(3)]
        return [self.num_squares]

    def _pixel_statistics(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Exact per-channel constants: mean pixel value and mean per-image std (ddof = 1).

        This is the convention of the paper's Table A2 (RGB: mean 1/64, std 1/√65 at any spacing). A
        channel that no square reaches is constant 0 and gets std 1, so it stays 0.
        """
        _, height, width = self.image_shape
        starts = self.offset + self.grid_spacing * torch.arange(self.positions)
        value = self.fill_value / 255.0
        means, stds = [], []
        for count in self._squares_per_channel():
            areas, probabilities = _union_area_distribution(starts, self.square_size, count)
            means.append(value * float((areas * probabilities).sum()) / (height * width))
            std = value * float((lit_image_std(areas, height * width) * probabilities).sum())
            stds.append(std if std > 0 else 1.0)
        return tuple(means), tuple(stds)

    def square_grid(self) -> tuple[int, int, int]:
        return (self.grid_spacing, self.square_size, self.positions)

    def _lookup_tables(self) -> dict[str, Tensor]:
        channels = self.image_shape[0]
        colours = torch.zeros(self.num_squares, channels)
        for i in range(self.num_squares):
            colours[i, i if self.rgb else 0] = float(self.fill_value)
        return {**super()._lookup_tables(), "colours": colours}

    def layers(self, factors: Tensor) -> SquareLayers:
        colours = self._constants(factors.device)["colours"]
        tops = self.offset + self.grid_spacing * factors[:, 1::2]
        lefts = self.offset + self.grid_spacing * factors[:, 0::2]
        return SquareLayers(
            tops=tops,
            lefts=lefts,
            sizes=torch.full_like(tops, self.square_size),
            colours=colours.expand(factors.shape[0], -1, -1),
        )


class XYSquaresMinimal(SquaresData):
    """The paper's fixed XYSquares (disent's ``XYSquaresMinimalData``).

    Three 8-px RGB squares on an 8-px grid with no offset: square ``i`` covers rows ``8·y_i``
    to ``8·y_i + 8`` and columns ``8·x_i`` to ``8·x_i + 8`` of channel ``i``. Identical to
    ``XYSquares()`` at its defaults; used for the paper's Figs. 6 and 11.
    """

    factor_names = ("x_R", "y_R", "x_G", "y_G", "x_B", "y_B")
    factor_sizes = (8, 8, 8, 8, 8, 8)
    image_shape = (3, 64, 64)
    mean = (1 / 64,) * 3
    std = (1 / math.sqrt(65),) * 3
    channel_owners = (0, 1, 2)

    def _lookup_tables(self) -> dict[str, Tensor]:
        return {**super()._lookup_tables(), "colours": 255.0 * torch.eye(3)}

    def square_grid(self) -> tuple[int, int, int]:
        return (8, 8, 8)

    def layers(self, factors: Tensor) -> SquareLayers:
        tops = 8 * factors[:, 1::2]
        return SquareLayers(
            tops=tops,
            lefts=8 * factors[:, 0::2],
            sizes=torch.full_like(tops, 8),
            colours=self._constants(factors.device)["colours"].expand(factors.shape[0], -1, -1),
        )
