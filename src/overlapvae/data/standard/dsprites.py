"""dSprites (Matthey et al. 2017): the HDF5 release, its size-1 colour factor dropped (PAPER §2.3)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np

from overlapvae.data.download import RemoteFile
from overlapvae.data.grid import check_grid_order
from overlapvae.data.standard.images import CHUNK, check_shape, require_keys
from overlapvae.data.standard.spec import StandardSpec
from overlapvae.utils.validation import InvalidInputError


def convert_dsprites(spec: StandardSpec, files: Mapping[str, Path], out: np.ndarray) -> None:
    """Binary ``imgs [N, 64, 64]`` → ``uint8 [N, 1, 64, 64]`` in {0, 255}; the factor classes stored
    in the file (``latents/classes``, colour first) must enumerate the grid in order."""
    source = files["images"]
    with h5py.File(source, "r") as file:
        require_keys(file, ("imgs", "latents/classes"), source, "the dSprites HDF5")
        images = file["imgs"]
        check_shape(images.shape, (spec.num_observations, *spec.image_shape[1:]), f"{source} 'imgs'")
        classes = file["latents/classes"][:]
        if np.unique(classes[:, 0]).size != 1:
            raise InvalidInputError(f"{source}: the colour factor has more than one value")
        check_grid_order(classes[:, 1:], spec.factor_sizes, spec.factor_names, str(source))
        for start in range(0, spec.num_observations, CHUNK):
            chunk = images[start : start + CHUNK]
            if chunk.max(initial=0) > 1:
                raise InvalidInputError(f"{source}: 'imgs' must be binary (0 or 1), found {chunk.max()}")
            out[start : start + len(chunk), 0] = chunk * np.uint8(255)


SPEC = StandardSpec(
    name="dsprites",
    factor_names=("shape", "scale", "orientation", "position_x", "position_y"),
    factor_sizes=(3, 6, 40, 32, 32),
    image_shape=(1, 64, 64),
    mean=(0.042494,),
    std=(0.195166,),
    files={
        "images": RemoteFile(
            url="https://raw.githubusercontent.com/deepmind/dsprites-dataset/master/"
            "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5",
            md5="b331c4447a651c44bf5e8ae09022e230",
            filename="dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5",
        )
    },
    convert=convert_dsprites,
)
