"""MPI3D toy, realistic and real (Gondal et al. 2019): ``images`` of an npz, streamed in chunks.

The npz files of the final release hold 1,036,800 images: 6 colours × 6 shapes × 2 sizes ×
3 camera heights × 3 backgrounds × 40 × 40 arm positions, in that row-major order (the release's
README). An earlier release had 4 colours and 4 shapes (460,800 images); a file of that size is
refused rather than mislabelled.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

import numpy as np

from overlapvae.data.download import RemoteFile
from overlapvae.data.standard.images import CHUNK, check_shape, require_keys, to_channels_first
from overlapvae.data.standard.spec import StandardSpec
from overlapvae.utils.validation import InvalidInputError


def read_npy_header(stream: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from the header of an ``.npy`` stream (left at the data)."""
    version = np.lib.format.read_magic(stream)
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in readers:
        raise InvalidInputError(f"unsupported .npy format version {version}")
    return readers[version](stream)


def convert_mpi3d(spec: StandardSpec, files: Mapping[str, Path], out: np.ndarray) -> None:
    """``images [N, 64, 64, 3]`` from the npz, read ``CHUNK`` images at a time (the array is
    about 12 GB, so it is never loaded whole)."""
    source = files["images"]
    with zipfile.ZipFile(source) as archive:
        require_keys(archive.namelist(), ("images.npy",), source, "an MPI3D npz")
        with archive.open("images.npy") as member:
            shape, fortran_order, dtype = read_npy_header(member)
            channels, height, width = spec.image_shape
            check_shape(shape, (spec.num_observations, height, width, channels), f"{source} 'images'")
            if dtype != np.uint8 or fortran_order:
                raise InvalidInputError(f"{source} 'images' must be C-ordered uint8, got {dtype}")
            image_bytes = height * width * channels
            for start in range(0, spec.num_observations, CHUNK):
                count = min(CHUNK, spec.num_observations - start)
                buffer = member.read(count * image_bytes)
                if len(buffer) != count * image_bytes:
                    raise InvalidInputError(f"{source} is truncated: 'images' ends before image {start + count}")
                chunk = np.frombuffer(buffer, np.uint8).reshape(count, height, width, channels)
                out[start : start + count] = to_channels_first(chunk)


FACTOR_NAMES = (
    "object_color",
    "object_shape",
    "object_size",
    "camera_height",
    "background_color",
    "first_dof",
    "second_dof",
)
#: (mean, std) per channel (PAPER §2.4) and the release's md5 per subset.
SUBSETS = {
    "toy": (
        (0.226816, 0.223540, 0.226661),
        (0.078541, 0.073193, 0.079076),
        "55889cb7c7dfc655d6e0277beee88868",
    ),
    "realistic": (
        (0.182402, 0.207231, 0.182055),
        (0.095112, 0.101289, 0.094282),
        "59a6225b88b635365f70c91b3e52f70f",
    ),
    "real": (
        (0.131112, 0.167464, 0.140517),
        (0.101374, 0.100878, 0.105341),
        "0f33f609918fb5c97996692f91129802",
    ),
}

SPECS = tuple(
    StandardSpec(
        name=f"mpi3d_{subset}",
        factor_names=FACTOR_NAMES,
        factor_sizes=(6, 6, 2, 3, 3, 40, 40),
        image_shape=(3, 64, 64),
        mean=mean,
        std=std,
        files={
            "images": RemoteFile(
                url=f"https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/mpi3d_{subset}.npz",
                md5=md5,
                filename=f"mpi3d_{subset}.npz",
            )
        },
        convert=convert_mpi3d,
    )
    for subset, (mean, std, md5) in SUBSETS.items()
)
