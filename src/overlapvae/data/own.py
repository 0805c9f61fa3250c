"""The user's own data: images with a factor table, from an ``.npz`` file or a folder with a CSV.

The factor sizes are inferred (each factor's distinct values, sorted, become its indices), the
grid must be complete (every combination exactly once: the error lists what is missing), and
a factor that takes a single value is dropped with a warning naming it (nothing varies along
it, so no metric could score it), the images are put into grid order once and cached under
``<data_dir>/own/`` together with
their standardisation constants (per-channel mean, and the mean over images of each image's
per-channel std with ddof = 1, PAPER §2.4). The cache is rebuilt when the source file changes.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from PIL import Image

from overlapvae.data.array import ArrayData, check_storage
from overlapvae.data.converted import Filler, build_converted, load_converted, read_metadata, stale_reason
from overlapvae.data.grid import check_complete, factor_grid
from overlapvae.data.standard.images import to_channels_first
from overlapvae.utils.validation import InvalidInputError, MissingInputError, check_choice

log = logging.getLogger(__name__)

Layout = Literal["NHWC", "NCHW"]
LAYOUTS = get_args(Layout)
IMAGE_COLUMN = "image"

#: Reads the source: ``uint8 [N, C, H, W]`` images, a ``[N, F]`` factor table, the factor names.
Reader = Callable[[], tuple[np.ndarray, np.ndarray, list[str]]]


def standardisation_constants(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean of ``uint8 [N, C, H, W]`` images on [0, 1], and the mean over images of
    each image's per-channel std (ddof = 1), the paper's definition (Table A2)."""
    scaled = images.reshape(*images.shape[:2], -1).astype(np.float64) / 255.0
    return scaled.mean(axis=(0, 2)).tolist(), scaled.std(axis=2, ddof=1).mean(axis=0).tolist()


def _fingerprint(paths: Sequence[Path]) -> str:
    """A cheap identity of source files (path, size, modification time), for the cache's name."""
    digest = hashlib.sha256()
    for path in paths:
        status = path.stat()
        digest.update(f"{path.resolve()}|{status.st_size}|{status.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def _channels_first(images: np.ndarray, layout: str, source: str) -> np.ndarray:
    check_choice("layout", layout, LAYOUTS)
    if images.dtype != np.uint8:
        raise InvalidInputError(f"{source}: images must be uint8 (0–255), got {images.dtype}")
    if images.ndim not in (3, 4):
        raise InvalidInputError(
            f"{source}: images must be [N, H, W] or [N, H, W, C] / [N, C, H, W], got {images.shape}"
        )
    return images if images.ndim == 4 and layout == "NCHW" else to_channels_first(images)


class OwnData(ArrayData):
    """Images in grid order, converted from a ``Reader`` once and cached in ``cache_dir`` under the
    fingerprint of the ``sources`` (and ``options``): the source is read only when that changes."""

    def __init__(
        self,
        read: Reader,
        sources: Sequence[Path],
        cache_dir: Path,
        label: str,
        storage: str,
        options: dict[str, Any],
    ) -> None:
        check_storage(storage)
        fingerprint = _fingerprint(sources)
        path = cache_dir / f"{label}-{fingerprint}" / "images.npy"
        recipe = {"fingerprint": fingerprint, **options}
        if stale_reason(path, recipe) is not None:
            images, table, names = read()
            build_converted(path, images.shape, recipe, _grid_ordered(images, table, names, str(sources[0])))
        metadata = read_metadata(path)
        images = load_converted(path, mmap=storage == "mmap")
        super().__init__(
            images,
            metadata["factor_names"],
            metadata["factor_sizes"],
            metadata["mean"],
            metadata["std"],
            storage,
        )
        self.factor_values = tuple(metadata["factor_values"])


def _without_constant_factors(table: np.ndarray, names: list[str], source: str) -> tuple[np.ndarray, list[str]]:
    """Drop each factor that takes a single value, with a warning naming it: it varies nothing, so
    no metric can score it (MIG, DCI and SAP would fail at every evaluation). A table whose every
    factor is constant is refused."""
    constant = [column for column in range(table.shape[1]) if len(np.unique(table[:, column])) == 1]
    if not constant:
        return table, names
    if len(constant) == table.shape[1]:
        raise InvalidInputError(f"{source}: every factor ({', '.join(names)}) takes a single value: nothing varies")
    for column in constant:
        log.warning(
            "%s: factor %r takes the single value %s in every image: dropped (a constant factor "
            "cannot be scored by any metric)",
            source,
            names[column],
            table[0, column],
        )
    keep = [column for column in range(table.shape[1]) if column not in constant]
    return table[:, keep], [names[column] for column in keep]


def _grid_ordered(images: np.ndarray, table: np.ndarray, names: list[str], source: str) -> Filler:
    """Check that ``table`` matches ``images`` and fills a complete grid; return the filler that
    writes the images in grid order and records the factors and standardisation constants."""
    if len(table) != len(images):
        raise InvalidInputError(
            f"{source}: {len(table)} factor rows for {len(images)} images: each image needs one row"
        )
    if table.ndim != 2 or table.shape[1] != len(names):
        raise InvalidInputError(f"{source}: a factor table of shape {table.shape} for the factor names {names}")
    table, names = _without_constant_factors(table, names, source)
    grid = factor_grid(table)
    check_complete(grid, names, source)
    order = np.argsort(grid.positions)

    def fill(out: np.ndarray) -> dict[str, Any]:
        out[:] = images[order]
        mean, std = standardisation_constants(out)
        return {
            "factor_names": names,
            "factor_sizes": list(grid.sizes),
            "factor_values": [column.tolist() for column in grid.values],
            "mean": mean,
            "std": std,
        }

    return fill


class NpzData(OwnData):
    """An ``.npz`` with ``images`` (uint8, ``layout`` NHWC or NCHW, or [N, H, W] grey) and
    ``factors`` ([N, F]), and optionally ``factor_names``."""

    def __init__(
        self,
        path: str,
        data_dir: str = "data",
        factor_names: list[str] | None = None,
        layout: Layout = "NHWC",
        storage: str = "memory",
    ) -> None:
        source = Path(path)
        if not source.is_file():
            raise MissingInputError(f"dataset.path={path!r} is not a file: point it at your .npz")

        def read() -> tuple[np.ndarray, np.ndarray, list[str]]:
            with np.load(source, allow_pickle=False) as content:
                missing = [key for key in ("images", "factors") if key not in content]
                if missing:
                    raise InvalidInputError(
                        f"{source} lacks {missing} (it has {sorted(content.files)}): it needs "
                        "'images' and 'factors' arrays"
                    )
                images = _channels_first(content["images"], layout, str(source))
                table = content["factors"]
                table = table[:, None] if table.ndim == 1 else table
                stored = content["factor_names"].tolist() if "factor_names" in content else None
            names = list(factor_names or stored or [f"factor_{i}" for i in range(table.shape[1])])
            return images, table, names

        options = {"factor_names": factor_names, "layout": layout}
        super().__init__(read, [source], Path(data_dir) / "own", source.stem, storage, options)


class FolderData(OwnData):
    """A folder of images (PNG, JPEG, …) and a CSV factor table: an ``image`` column with each
    file's path relative to the folder, and one column per factor (the header names them)."""

    def __init__(
        self, path: str, data_dir: str = "data", factors_file: str = "factors.csv", storage: str = "memory"
    ) -> None:
        folder = Path(path)
        table_path = folder / factors_file
        if not table_path.is_file():
            raise MissingInputError(
                f"{table_path} not found: dataset.path must be a folder holding {factors_file} "
                f"(an {IMAGE_COLUMN!r} column and one column per factor) and the images it names"
            )

        with table_path.open(newline="") as file:
            reader = csv.DictReader(file)
            header, rows = list(reader.fieldnames or []), list(reader)
        if IMAGE_COLUMN not in header or len(header) < 2 or not rows:
            raise InvalidInputError(
                f"{table_path} needs an {IMAGE_COLUMN!r} column, at least one factor column and one row; "
                f"it has the columns {header} and {len(rows)} rows"
            )
        names = [column for column in header if column != IMAGE_COLUMN]
        files = [folder / row[IMAGE_COLUMN] for row in rows]
        absent = [str(file) for file in files if not file.is_file()]
        if absent:
            raise MissingInputError(
                f"{table_path} names {len(absent)} images that do not exist: {absent[:5]}"
            )

        def read() -> tuple[np.ndarray, np.ndarray, list[str]]:
            images = [_read_image(file) for file in files]
            for file, image in zip(files, images, strict=True):
                if image.shape != images[0].shape:
                    raise InvalidInputError(
                        f"{file} is {image.shape}, {files[0]} is {images[0].shape}: sizes must match"
                    )
            table = np.empty((len(rows), len(names)), dtype=object)
            for column, name in enumerate(names):
                table[:, column] = _column_values([row[name] for row in rows])
            return _channels_first(np.stack(images), "NHWC", str(folder)), table, names

        sources = [table_path, *files]
        super().__init__(read, sources, Path(data_dir) / "own", folder.name, storage, {"layout": "NHWC"})


def _read_image(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        grey = image.mode in ("1", "L", "I", "I;16", "F")
        return np.asarray(image.convert("L" if grey else "RGB"))


def _column_values(texts: list[str]) -> list[float] | list[str]:
    """A CSV column as numbers when every entry is one (so 2 < 10), else as text."""
    try:
        return [float(text) for text in texts]
    except ValueError:
        return texts
