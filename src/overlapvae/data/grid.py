"""Factor tables → positions on the full factor grid, with the checks metrics and traversals need.

Each factor's distinct values, sorted, become its indices ``0 … size − 1``; a row's position is
the row-major (last factor fastest) index of its factor vector, the order every data set here
uses. A grid is *complete* when every combination appears exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from overlapvae.utils.validation import InvalidInputError

MAX_LISTED = 5


@dataclass(frozen=True)
class FactorGrid:
    """The factor sizes, each factor's sorted distinct values, and every row's grid position."""

    sizes: tuple[int, ...]
    values: tuple[np.ndarray, ...]
    positions: np.ndarray

    def combination(self, position: int) -> tuple:
        """The factor values at a grid position."""
        indices = np.unravel_index(position, self.sizes)
        return tuple(values[int(i)].item() for values, i in zip(self.values, indices, strict=True))


def factor_grid(table: np.ndarray) -> FactorGrid:
    """Index a ``[N, F]`` table of factor values (numbers or strings)."""
    if table.ndim != 2 or table.shape[1] == 0:
        raise InvalidInputError(f"a factor table must be [rows, factors], got shape {table.shape}")
    values, indices = zip(*(np.unique(column, return_inverse=True) for column in table.T), strict=True)
    sizes = tuple(len(column_values) for column_values in values)
    positions = np.ravel_multi_index(tuple(index.ravel() for index in indices), sizes)
    return FactorGrid(sizes=sizes, values=tuple(values), positions=positions)


def check_complete(grid: FactorGrid, names: Sequence[str], source: str) -> None:
    """Raise ``ValueError`` naming ``source`` unless every combination appears exactly once."""
    counts = np.bincount(grid.positions, minlength=math.prod(grid.sizes))
    described = ", ".join(f"{name} {size}" for name, size in zip(names, grid.sizes, strict=True))

    def listing(positions: np.ndarray) -> str:
        shown = "; ".join(
            ", ".join(f"{name}={value}" for name, value in zip(names, grid.combination(int(p)), strict=True))
            for p in positions[:MAX_LISTED]
        )
        return shown + (f"; … ({len(positions) - MAX_LISTED} more)" if len(positions) > MAX_LISTED else "")

    duplicated = np.flatnonzero(counts > 1)
    if len(duplicated):
        raise InvalidInputError(
            f"{source}: {len(duplicated)} factor combinations appear more than once (each must be one "
            f"image): {listing(duplicated)}"
        )
    missing = np.flatnonzero(counts == 0)
    if len(missing):
        raise InvalidInputError(
            f"{source}: the factor grid ({described}) has {len(missing)} of {len(counts)} combinations "
            f"missing: {listing(missing)}. Metrics and traversals need every combination: add the "
            f"missing images or drop the factor values that are incomplete."
        )


def check_grid_order(table: np.ndarray, sizes: Sequence[int], names: Sequence[str], source: str) -> None:
    """Raise unless the rows of ``table`` enumerate the grid of ``sizes`` in row-major order."""
    grid = factor_grid(table)
    if grid.sizes != tuple(sizes):
        raise InvalidInputError(
            f"{source}: factor sizes {dict(zip(names, grid.sizes, strict=True))}, expected "
            f"{dict(zip(names, sizes, strict=True))}: not the version of the data this project converts"
        )
    out_of_order = np.flatnonzero(grid.positions != np.arange(len(grid.positions)))
    if len(out_of_order):
        row = int(out_of_order[0])
        raise InvalidInputError(
            f"{source}: the rows are not in factor-grid order (row {row} holds "
            f"{dict(zip(names, grid.combination(int(grid.positions[row])), strict=True))})"
        )
