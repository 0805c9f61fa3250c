"""3D Shapes (Burgess & Kim 2018): the HDF5 release, images and labels already in grid order."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np

from overlapvae.data.download import RemoteFile
from overlapvae.data.grid import check_grid_order
from overlapvae.data.standard.images import CHUNK, check_shape, require_keys, to_channels_first
from overlapvae.data.standard.spec import StandardSpec


def convert_shapes3d(spec: StandardSpec, files: Mapping[str, Path], out: np.ndarray) -> None:
    """``images [N, 64, 64, 3]`` → ``[N, 3, 64, 64]``; ``labels [N, 6]`` must enumerate the grid."""
    source = files["images"]
    with h5py.File(source, "r") as file:
        require_keys(file, ("images", "labels"), source, "3dshapes.h5")
        images = file["images"]
        channels, height, width = spec.image_shape
        check_shape(images.shape, (spec.num_observations, height, width, channels), f"{source} 'images'")
        check_grid_order(file["labels"][:], spec.factor_sizes, spec.factor_names, str(source))
        for start in range(0, spec.num_observations, CHUNK):
            chunk = images[start : start + CHUNK]
            out[start : start + len(chunk)] = to_channels_first(chunk)


SPEC = StandardSpec(
    name="shapes3d",
    factor_names=("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"),
    factor_sizes=(10, 10, 10, 8, 4, 15),
    image_shape=(3, 64, 64),
    mean=(0.502585, 0.578760, 0.603450),
    std=(0.294081, 0.344398, 0.366169),
    files={
        "images": RemoteFile(
            url="https://storage.googleapis.com/3d-shapes/3dshapes.h5",
            md5="099a2078d58cec4daad0702c55d06868",
            filename="3dshapes.h5",
        )
    },
    convert=convert_shapes3d,
)
