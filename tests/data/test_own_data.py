"""The user's own data (npz, or a folder of images with a CSV): factor sizes inferred, grid order,
holes and duplicates refused with the combinations named, constants computed and cached."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_sources import decode, grid, stripes

from overlapvae.data.grid import check_grid_order, factor_grid
from overlapvae.data.own import FolderData, NpzData, standardisation_constants
from overlapvae.metrics import mutual_information_gap
from overlapvae.utils.validation import InvalidInputError

SIZES = (3, 2, 4)
VALUES = (np.array([0.5, 1.0, 2.0]), np.array(["circle", "square"]), np.array([-10, 0, 10, 100]))


def shuffled_table(seed: int = 0):
    """Every combination of ``VALUES`` in a random order, with its stripe image (NHWC)."""
    indices = grid(SIZES)[np.random.default_rng(seed).permutation(np.prod(SIZES))]
    images = stripes(indices, 16, 3)
    return images, indices


def write_npz(path, images, indices, **extra):
    factors = np.column_stack([VALUES[0][indices[:, 0]], indices[:, 1], VALUES[2][indices[:, 2]]])
    np.savez(path, images=images, factors=factors, **extra)


def test_npz_factors_are_indexed_by_their_sorted_values_and_put_in_grid_order(tmp_path):
    images, indices = shuffled_table()
    write_npz(tmp_path / "mine.npz", images, indices, factor_names=np.array(["size", "kind", "x"]))
    data = NpzData(str(tmp_path / "mine.npz"), data_dir=str(tmp_path / "data"))
    assert data.factor_sizes == SIZES and data.factor_names == ("size", "kind", "x")
    assert data.image_shape == (3, 16, 16)
    every = torch.from_numpy(grid(SIZES))
    assert np.array_equal(decode(data.render(every), 3), every.numpy())
    assert data.factor_values[2] == [-10.0, 0.0, 10.0, 100.0]
    mean, std = standardisation_constants(data.images.numpy())
    assert data.mean == pytest.approx(mean) and data.std == pytest.approx(std)


def test_standardisation_constants_follow_the_papers_definition():
    images = np.zeros((2, 1, 2, 2), np.uint8)
    images[0, 0, 0, 0] = 255  # image 0: one white pixel of four
    mean, std = standardisation_constants(images)
    # mean over all 8 pixels = 1/8; image 0's std (ddof 1) = sqrt(((3/4)² + 3·(1/4)²)/3) = 1/2, image 1's 0
    assert mean == pytest.approx([1 / 8]) and std == pytest.approx([0.25])


def test_the_conversion_is_cached_and_redone_when_the_source_changes(tmp_path, caplog):
    images, indices = shuffled_table()
    write_npz(tmp_path / "mine.npz", images, indices)
    NpzData(str(tmp_path / "mine.npz"), data_dir=str(tmp_path / "data"))
    (cached,) = (tmp_path / "data" / "own").glob("mine-*/images.npy")
    stamp = cached.stat().st_mtime_ns
    NpzData(str(tmp_path / "mine.npz"), data_dir=str(tmp_path / "data"))
    assert cached.stat().st_mtime_ns == stamp  # reused
    images[:] = 255 - images
    write_npz(tmp_path / "mine.npz", images, indices)
    changed = NpzData(str(tmp_path / "mine.npz"), data_dir=str(tmp_path / "data"))
    assert len(list((tmp_path / "data" / "own").glob("mine-*"))) == 2
    assert decode(255 - changed.render(torch.tensor([[2, 1, 3]])).numpy(), 3).tolist() == [[2, 1, 3]]


def test_a_grid_with_holes_names_the_missing_combinations(tmp_path):
    images, indices = shuffled_table()
    keep = ~((indices[:, 0] == 1) & (indices[:, 2] == 3))  # drop size 1.0 with x 100: two images
    write_npz(
        tmp_path / "holes.npz", images[keep], indices[keep], factor_names=np.array(["size", "kind", "x"])
    )
    with pytest.raises(
        ValueError,
        match=r"2 of 24 combinations missing: size=1\.0, kind=0\.0, x=100\.0; size=1\.0, kind=1\.0",
    ):
        NpzData(str(tmp_path / "holes.npz"), data_dir=str(tmp_path / "data"))


def test_duplicates_and_mismatched_rows_are_refused(tmp_path):
    images, indices = shuffled_table()
    doubled = np.concatenate([indices, indices[:1]])
    write_npz(tmp_path / "twice.npz", np.concatenate([images, images[:1]]), doubled)
    with pytest.raises(ValueError, match=r"1 factor combinations appear more than once"):
        NpzData(str(tmp_path / "twice.npz"), data_dir=str(tmp_path / "data"))
    np.savez(tmp_path / "short.npz", images=images, factors=indices[:-1])
    with pytest.raises(ValueError, match=r"short\.npz: 23 factor rows for 24 images"):
        NpzData(str(tmp_path / "short.npz"), data_dir=str(tmp_path / "data"))
    np.savez(tmp_path / "nokey.npz", pictures=images)
    with pytest.raises(ValueError, match=r"lacks \['images', 'factors'\]"):
        NpzData(str(tmp_path / "nokey.npz"), data_dir=str(tmp_path / "data"))
    with pytest.raises(FileNotFoundError, match=r"dataset\.path='.*absent\.npz' is not a file"):
        NpzData(str(tmp_path / "absent.npz"))


def test_a_factor_with_a_single_value_is_dropped_by_name_and_the_metrics_then_run(tmp_path, caplog):
    images, indices = shuffled_table()
    factors = np.column_stack([indices, np.full(len(indices), 7)])  # a fourth factor that never varies
    np.savez(tmp_path / "flat.npz", images=images, factors=factors, factor_names=["size", "kind", "x", "light"])
    data = NpzData(str(tmp_path / "flat.npz"), data_dir=str(tmp_path / "data"))
    assert data.factor_names == ("size", "kind", "x") and data.factor_sizes == SIZES
    assert "factor 'light' takes the single value 7 in every image: dropped" in caplog.text
    factors = data.sample_factors(200, torch.Generator().manual_seed(0)).numpy()
    codes = factors + np.random.default_rng(0).normal(scale=0.1, size=factors.shape)  # a perfect code
    assert mutual_information_gap(codes, factors, num_bins=5)["discrete_mig"] > 0.5  # every factor scores
    np.savez(tmp_path / "still.npz", images=images[:1], factors=np.zeros((1, 2)))
    with pytest.raises(InvalidInputError, match=r"every factor \(factor_0, factor_1\) takes a single value"):
        NpzData(str(tmp_path / "still.npz"), data_dir=str(tmp_path / "data"))


def write_folder(folder, images, indices, rows=None):
    folder.mkdir()
    with (folder / "factors.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["image", "size", "kind", "x"])
        for i, (image, index) in enumerate(zip(images, indices, strict=True)):
            Image.fromarray(image).save(folder / f"{i}.png")
            writer.writerow([f"{i}.png", VALUES[0][index[0]], VALUES[1][index[1]], VALUES[2][index[2]]])
        for row in rows or []:
            writer.writerow(row)


def test_a_folder_with_a_factor_table_loads_like_the_npz(tmp_path):
    images, indices = shuffled_table()
    write_folder(tmp_path / "shapes", images, indices)
    data = FolderData(str(tmp_path / "shapes"), data_dir=str(tmp_path / "data"))
    assert data.factor_names == ("size", "kind", "x") and data.factor_sizes == SIZES
    assert data.factor_values[1] == ["circle", "square"] and data.factor_values[2] == [
        -10.0,
        0.0,
        10.0,
        100.0,
    ]
    every = torch.from_numpy(grid(SIZES))
    assert np.array_equal(decode(data.render(every), 3), every.numpy())


def test_a_folder_table_naming_missing_images_is_refused(tmp_path):
    images, indices = shuffled_table()
    write_folder(tmp_path / "shapes", images, indices, rows=[["gone.png", 0.5, "circle", 0]])
    with pytest.raises(FileNotFoundError, match=r"names 1 images that do not exist: \[.*gone\.png"):
        FolderData(str(tmp_path / "shapes"), data_dir=str(tmp_path / "data"))
    with pytest.raises(FileNotFoundError, match=r"factors\.csv not found"):
        FolderData(str(tmp_path / "nothing"))


def test_grid_order_checks_sizes_and_order():
    table = grid((2, 3))
    check_grid_order(table, (2, 3), ("a", "b"), "t")
    with pytest.raises(ValueError, match=r"t: factor sizes \{'a': 2, 'b': 3\}, expected \{'a': 3, 'b': 2\}"):
        check_grid_order(table, (3, 2), ("a", "b"), "t")
    with pytest.raises(ValueError, match=r"row 0 holds \{'a': 1, 'b': 2\}"):
        check_grid_order(table[::-1], (2, 3), ("a", "b"), "t")
    assert factor_grid(np.array([[5.0], [1.0], [3.0]])).positions.tolist() == [2, 0, 1]
