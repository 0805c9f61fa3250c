"""Cars3D (Reed et al. 2015): 183 cars' ``.mat`` files in a tar.gz, resized to 64 × 64 (PAPER §2.3).

Each ``data/cars/car_*_mesh.mat`` holds ``im [128, 128, 3, azimuth 24, elevation 4]``; the cars
are stacked in the order of ``data/cars/list.txt`` as the last (fastest) factor, after elevation
and azimuth.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import numpy as np
import scipy.io

from overlapvae.data.download import RemoteFile
from overlapvae.data.standard.images import check_shape, resize_square, to_channels_first
from overlapvae.data.standard.spec import StandardSpec
from overlapvae.utils.validation import InvalidInputError

LIST_NAME = "list.txt"


def _car_order(archive_path: Path) -> dict[str, int]:
    """Car file stem → position, from ``cars/list.txt`` (first pass over the archive)."""
    with tarfile.open(archive_path, "r:gz") as archive:
        for member in archive:
            path = PurePosixPath(member.name)
            if path.name == LIST_NAME and path.parent.name == "cars":
                names = archive.extractfile(member).read().decode().split()
                return {name: position for position, name in enumerate(names)}
    raise InvalidInputError(f"{archive_path} has no cars/{LIST_NAME}: not the Cars3D archive")


def convert_cars3d(spec: StandardSpec, files: Mapping[str, Path], out: np.ndarray) -> None:
    """Read each listed car's images (second pass), resize them, and place them on the grid."""
    source = files["archive"]
    elevations, azimuths, cars = spec.factor_sizes
    channels, size, _ = spec.image_shape
    order = _car_order(source)
    if len(order) != cars:
        raise InvalidInputError(f"{source}: cars/{LIST_NAME} lists {len(order)} cars, expected {cars}")
    grid = out.reshape(elevations, azimuths, cars, channels, size, size)
    seen: set[str] = set()
    with tarfile.open(source, "r:gz") as archive:
        for member in archive:
            path = PurePosixPath(member.name)
            if path.suffix != ".mat" or path.parent.name != "cars" or path.stem not in order:
                continue
            content = scipy.io.loadmat(io.BytesIO(archive.extractfile(member).read()))
            if "im" not in content:
                raise InvalidInputError(f"{source}: {member.name} has no 'im' array")
            images = content["im"]  # [H, W, C, azimuth, elevation]
            check_shape(images.shape[2:], (channels, azimuths, elevations), f"{source}: {member.name} 'im'")
            by_view = images.transpose(4, 3, 0, 1, 2).reshape(-1, *images.shape[:3])
            resized = to_channels_first(resize_square(by_view, size))
            grid[:, :, order[path.stem]] = resized.reshape(elevations, azimuths, channels, size, size)
            seen.add(path.stem)
    missing = sorted(set(order) - seen)
    if missing:
        raise InvalidInputError(f"{source}: {len(missing)} listed cars have no .mat file, e.g. {missing[:3]}")


SPEC = StandardSpec(
    name="cars3d",
    factor_names=("elevation", "azimuth", "object_type"),
    factor_sizes=(4, 24, 183),
    image_shape=(3, 64, 64),
    mean=(0.897668, 0.889166, 0.885148),
    std=(0.225032, 0.239946, 0.247921),
    files={
        "archive": RemoteFile(
            url="http://www.scottreed.info/files/nips2015-analogy-data.tar.gz",
            md5="4e866a7919c1beedf53964e6f7a23686",
            filename="nips2015-analogy-data.tar.gz",
        )
    },
    convert=convert_cars3d,
)
