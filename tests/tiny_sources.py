"""Small files in each benchmark's real format, whose images encode their own factors.

Image ``i`` of a grid shows one vertical stripe per factor; stripe ``k`` has the value
``(f_k + 1) · STEP`` (dSprites, binary: ``f_k``), so ``decode`` reads the factors back from any
converted image, resized or not. Each ``make_*`` writes the source files into a folder and
returns a spec for them, the real spec with smaller factor sizes and addresses on a test server.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import h5py
import numpy as np
import scipy.io

from overlapvae.data.download import RemoteFile
from overlapvae.data.standard import STANDARD_DATASETS, StandardSpec

STEP = 20


def grid(sizes) -> np.ndarray:
    """Every factor vector of the grid, row-major: ``[N, F]``."""
    return np.indices(sizes).reshape(len(sizes), -1).T


def stripes(factors: np.ndarray, size: int, channels: int, binary: bool = False) -> np.ndarray:
    """``uint8 [N, size, size, channels]`` images encoding ``factors``."""
    count, num_factors = factors.shape
    values = factors if binary else (factors + 1) * STEP
    columns = values[:, np.arange(size) * num_factors // size]  # column x shows factor ⌊x·F/size⌋
    images = np.broadcast_to(columns[:, None, :, None], (count, size, size, channels))
    return np.ascontiguousarray(images, dtype=np.uint8)


def decode(images, num_factors: int, binary: bool = False) -> np.ndarray:
    """The factors shown by ``uint8 [N, C, H, W]`` images (channel 0, middle row)."""
    images = np.asarray(images)
    width = images.shape[-1]
    centres = ((np.arange(num_factors) + 0.5) * width / num_factors).astype(int)
    values = images[:, 0, images.shape[2] // 2, centres].astype(np.int64)
    return (values > 127).astype(np.int64) if binary else values // STEP - 1


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def tiny_spec(name: str, sizes, folder: Path, base_url: str) -> StandardSpec:
    """The real spec of ``name`` with ``sizes``, its files' checksums taken from ``folder``."""
    real = STANDARD_DATASETS[name]
    files = {
        role: RemoteFile(
            url=f"{base_url}/{remote.filename}", md5=md5(folder / remote.filename), filename=remote.filename
        )
        for role, remote in real.files.items()
    }
    return dataclasses.replace(real, factor_sizes=tuple(sizes), files=files)


def make_dsprites(folder: Path, sizes) -> None:
    factors = grid(sizes)
    with h5py.File(folder / STANDARD_DATASETS["dsprites"].files["images"].filename, "w") as file:
        file["imgs"] = stripes(factors, 64, 1, binary=True)[..., 0]
        latents = file.create_group("latents")
        latents["classes"] = np.column_stack([np.zeros(len(factors), np.int64), factors])


def make_shapes3d(folder: Path, sizes) -> None:
    factors = grid(sizes)
    with h5py.File(folder / "3dshapes.h5", "w") as file:
        file["images"] = stripes(factors, 64, 3)
        file["labels"] = factors * 0.25 - 1.0  # the release stores factor values, not indices


def make_mpi3d(folder: Path, sizes, name: str = "mpi3d_toy") -> None:
    np.savez(folder / f"{name}.npz", images=stripes(grid(sizes), 64, 3))


def make_cars3d(folder: Path, sizes) -> None:
    """``data/cars/list.txt`` lists the cars in the reverse of their order in the archive; a car's
    images encode its position in the list, which is its index on the grid."""
    elevations, azimuths, cars = sizes
    factors = grid(sizes)
    names = [f"car_{i:03d}_mesh" for i in range(cars)]
    with tarfile.open(folder / "nips2015-analogy-data.tar.gz", "w:gz") as archive:
        for i, name in enumerate(names):
            listed_at = cars - 1 - i
            views = stripes(factors[factors[:, 2] == listed_at], 128, 3)  # (elevation, azimuth) order
            im = views.reshape(elevations, azimuths, 128, 128, 3).transpose(2, 3, 4, 1, 0)
            buffer = io.BytesIO()
            scipy.io.savemat(buffer, {"im": im})
            add_member(archive, f"data/cars/{name}.mat", buffer.getvalue())
        add_member(archive, "data/cars/list.txt", "\n".join(reversed(names)).encode() + b"\n")


def add_member(archive: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    archive.addfile(info, io.BytesIO(content))


def norb_matrix(array: np.ndarray) -> bytes:
    codes = {np.dtype(np.uint8): 0x1E3D4C55, np.dtype(np.int32): 0x1E3D4C54}
    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    header = np.array([codes[array.dtype], array.ndim, *dims], dtype="<i4").tobytes()
    return header + np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()


def make_smallnorb(folder: Path, sizes, seed: int = 0) -> None:
    """Rows shuffled, instances numbered like the training split (4, 6, 7, …), azimuths even."""
    factors = grid(sizes)
    order = np.random.default_rng(seed).permutation(len(factors))
    instances = np.array([4, 6, 7, 8, 9])[: sizes[1]]
    images = np.zeros((len(factors), 2, 96, 96), np.uint8)
    images[:, 0] = stripes(factors, 96, 1)[..., 0]
    images[:, 1] = 255  # the right image of the pair is never used
    categories = factors[:, 0].astype(np.int32)
    info = np.column_stack(
        [instances[factors[:, 1]], factors[:, 2], 2 * factors[:, 3], factors[:, 4]]
    ).astype(np.int32)
    prefix = "smallnorb-5x46789x9x18x6x2x96x96-training"
    for role, array in (("dat", images[order]), ("cat", categories[order]), ("info", info[order])):
        (folder / f"{prefix}-{role}.mat.gz").write_bytes(gzip.compress(norb_matrix(array)))


MAKERS = {
    "dsprites": (make_dsprites, (2, 2, 2, 2, 2)),
    "shapes3d": (make_shapes3d, (2, 2, 3, 2, 2, 2)),
    "cars3d": (make_cars3d, (2, 3, 3)),
    "smallnorb": (make_smallnorb, (2, 3, 2, 2, 2)),
    "mpi3d": (make_mpi3d, (2, 2, 2, 1, 2, 2, 2)),
}
#: Benchmarks whose images are binary (decoded with ``binary=True``).
BINARY = ("dsprites",)


def maker_for(name: str):
    """``(make(folder, sizes), sizes)`` for a benchmark name (every MPI3D subset shares one maker)."""
    if name.startswith("mpi3d_"):
        maker, sizes = MAKERS["mpi3d"]
        return functools.partial(maker, name=name), sizes
    return MAKERS[name]


def zip_member_truncated(path: Path) -> None:
    """Rewrite an npz with its ``images`` member cut short (a truncated archive)."""
    with zipfile.ZipFile(path) as archive:
        content = archive.read("images.npy")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("images.npy", content[: len(content) // 2])


def own_npz(path: Path, sizes=(2, 3)) -> Path:
    """The user's-own-data format: an npz of NHWC images and their factor values."""
    factors = grid(sizes)
    np.savez(path, images=stripes(factors, 16, 3), factors=factors * 10)
    return path


def own_folder(folder: Path, sizes=(2, 3)) -> Path:
    """The user's-own-data format: PNG files and ``factors.csv``."""
    from PIL import Image

    folder.mkdir(parents=True)
    factors = grid(sizes)
    lines = ["image," + ",".join(f"f{k}" for k in range(len(sizes)))]
    for i, (image, row) in enumerate(zip(stripes(factors, 16, 3), factors, strict=True)):
        Image.fromarray(image).save(folder / f"{i}.png")
        lines.append(f"{i}.png," + ",".join(str(value) for value in row))
    (folder / "factors.csv").write_text("\n".join(lines) + "\n")
    return folder
