"""SmallNORB (LeCun et al. 2004), training split: gzipped binary matrices → 64 × 64 (PAPER §2.3).

The first image of each stereo pair is kept. The factors are the category (``cat``) and the
instance, elevation, azimuth and lighting columns of ``info``; azimuths (0, 2, …, 34) become
the rotation indices 0–17 and the training instances (4, 6, 7, 8, 9) become 0–4 by their sorted order, and
the rows are sorted lexicographically by (category, instance, elevation, azimuth, lighting).
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from overlapvae.data.download import RemoteFile
from overlapvae.data.grid import check_grid_order
from overlapvae.data.standard.images import check_shape, resize_square, to_channels_first
from overlapvae.data.standard.spec import StandardSpec
from overlapvae.utils.validation import InvalidInputError

#: The binary matrix format's type codes (the data set's documentation).
MATRIX_TYPES = {0x1E3D4C55: np.uint8, 0x1E3D4C54: np.int32, 0x1E3D4C56: np.int16}


def read_binary_matrix(path: Path) -> np.ndarray:
    """A gzipped NORB binary matrix: int32 type code, int32 rank, max(3, rank) int32 sizes, data
    (little-endian, last dimension fastest)."""
    with gzip.open(path, "rb") as file:
        content = file.read()
    if len(content) < 20:
        raise InvalidInputError(f"{path} is too short to be a NORB binary matrix")
    code, rank = (int(value) for value in np.frombuffer(content, "<i4", count=2))
    if code not in MATRIX_TYPES:
        raise InvalidInputError(f"{path}: unknown NORB matrix type code {code:#x}")
    stored = max(3, rank)
    shape = tuple(int(size) for size in np.frombuffer(content, "<i4", count=stored, offset=8)[:rank])
    dtype = np.dtype(MATRIX_TYPES[code]).newbyteorder("<")
    data = np.frombuffer(content, dtype, offset=8 + 4 * stored)
    if data.size != int(np.prod(shape)):
        raise InvalidInputError(f"{path} holds {data.size} values for a matrix of shape {shape}: truncated?")
    return data.reshape(shape)


def convert_smallnorb(spec: StandardSpec, files: Mapping[str, Path], out: np.ndarray) -> None:
    """Sort the left images by their factors, check the grid, resize to the spec's size."""
    images, categories, info = (read_binary_matrix(files[role]) for role in ("dat", "cat", "info"))
    count = spec.num_observations
    check_shape(images.shape[:2], (count, 2), f"{files['dat']} (images, stereo pair)")
    check_shape(categories.shape, (count,), f"{files['cat']}")
    check_shape(info.shape, (count, 4), f"{files['info']}")
    values = np.column_stack([categories, info])
    values[:, 3] //= 2  # azimuth 0, 2, …, 34 → 0 … 17
    order = np.lexsort(values.T[::-1])
    check_grid_order(values[order], spec.factor_sizes, spec.factor_names, str(files["info"]))
    size = spec.image_shape[-1]
    out[:] = to_channels_first(resize_square(images[order, 0], size))


_BASE = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/smallnorb-5x46789x9x18x6x2x96x96-training"
_MD5 = {
    "dat": "66054832f9accfe74a0f4c36a75bc0a2",
    "cat": "23c8b86101fbf0904a000b43d3ed2fd9",
    "info": "51dee1210a742582ff607dfd94e332e3",
}

SPEC = StandardSpec(
    name="smallnorb",
    factor_names=("category", "instance", "elevation", "rotation", "lighting"),
    factor_sizes=(5, 5, 9, 18, 6),
    image_shape=(1, 64, 64),
    mean=(0.752092,),
    std=(0.095639,),
    files={
        role: RemoteFile(url=f"{_BASE}-{role}.mat.gz", md5=md5, filename=f"{Path(_BASE).name}-{role}.mat.gz")
        for role, md5 in _MD5.items()
    },
    convert=convert_smallnorb,
)
