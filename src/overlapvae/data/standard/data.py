"""A downloaded benchmark as ground-truth data: fetch, verify, convert once, load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import Tensor

from overlapvae.data.array import ArrayData, check_storage
from overlapvae.data.converted import converted_images
from overlapvae.data.download import fetch
from overlapvae.data.standard.registry import STANDARD_DATASETS
from overlapvae.data.standard.spec import StandardSpec
from overlapvae.utils.validation import InvalidInputError


def standard_spec(name: str) -> StandardSpec:
    if name not in STANDARD_DATASETS:
        raise InvalidInputError(f"dataset name={name!r} is unknown: choose one of {', '.join(STANDARD_DATASETS)}")
    return STANDARD_DATASETS[name]


def prepare_standard(
    spec: StandardSpec, data_dir: str | Path, download: bool = True, mmap: bool = False, verify: bool = True
) -> Tensor:
    """The converted images of ``spec`` from ``<data_dir>/<name>/<name>.npy``, downloading and
    converting first when that file is missing, stale or corrupt (``verify`` rehashes it)."""
    folder = Path(data_dir) / spec.name

    def fill(out: np.ndarray) -> None:
        local = {role: fetch(remote, folder, download=download) for role, remote in spec.files.items()}
        spec.convert(spec, local, out)

    return converted_images(folder / f"{spec.name}.npy", spec.shape, spec.recipe(), fill, mmap, verify)


class StandardData(ArrayData):
    """One of the downloaded benchmarks (``name``: dsprites, shapes3d, cars3d, smallnorb,
    mpi3d_toy, mpi3d_realistic, mpi3d_real), kept in ``storage`` (memory, mmap or device)."""

    def __init__(
        self,
        name: str,
        data_dir: str = "data",
        storage: str = "memory",
        download: bool = True,
        verify: bool = True,
    ) -> None:
        check_storage(storage)
        spec = standard_spec(name)
        images = prepare_standard(spec, data_dir, download=download, mmap=storage == "mmap", verify=verify)
        super().__init__(images, spec.factor_names, spec.factor_sizes, spec.mean, spec.std, storage)
        self.name = name
