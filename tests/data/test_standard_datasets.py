"""Downloaded benchmarks: download → verify → convert → load through each real code path, served
from 127.0.0.1; bad checksums, broken transfers, corrupt caches and the offline message."""

from __future__ import annotations

import dataclasses
import json
import logging

import h5py
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from overlapvae.experiment.jobs.audit import audit
from overlapvae.experiment.hydra_setup import config_dir
from overlapvae.data.converted import description_path
from overlapvae.data.download import ChecksumError, DownloadError, RemoteFile, fetch
from overlapvae.data.standard import STANDARD_DATASETS, StandardData, prepare_standard
from tiny_sources import BINARY, decode, grid, md5, zip_member_truncated


@pytest.fixture
def served(tiny_benchmarks):
    """``served(name)``: (small spec, server, data dir) of ``name`` served on 127.0.0.1."""

    def make(name: str):
        return tiny_benchmarks.add(name), tiny_benchmarks.server, tiny_benchmarks.data_dir

    return make


NAMES = ("dsprites", "shapes3d", "cars3d", "smallnorb", "mpi3d_toy")


@pytest.mark.parametrize("name", NAMES)
def test_each_benchmark_downloads_converts_and_renders_its_factors(served, name):
    spec, server, data_dir = served(name)
    data = StandardData(name, data_dir=str(data_dir))
    assert data.factor_sizes == spec.factor_sizes and data.image_shape == spec.image_shape
    assert data.images.shape == (spec.num_observations, *spec.image_shape)
    assert data.mean == STANDARD_DATASETS[name].mean  # the paper's constants (§2.4)
    binary = name in BINARY
    every = torch.from_numpy(grid(spec.factor_sizes))
    # image ↔ factor: every observation shows its own factors
    assert np.array_equal(decode(data.render(every), len(spec.factor_sizes), binary), every.numpy())
    # factor ↔ index: the grid's row-major order
    indices = data.factors_to_indices(every)
    assert torch.equal(indices, torch.arange(spec.num_observations))
    assert torch.equal(data.indices_to_factors(indices), every)
    sampled = data.sample_factors(64, torch.Generator().manual_seed(0))
    assert np.array_equal(decode(data.render(sampled), len(spec.factor_sizes), binary), sampled.numpy())
    if binary:  # dSprites: 0/1 pixels become 0/255
        assert set(torch.unique(data.images).tolist()) == {0, 255}
    # a second load uses the cache: nothing is downloaded again
    requests = len(server.requests)
    again = StandardData(name, data_dir=str(data_dir))
    assert len(server.requests) == requests and torch.equal(again.images, data.images)


def test_memory_mmap_and_device_storage_render_the_same(served):
    _, _, data_dir = served("shapes3d")
    factors = torch.from_numpy(grid(STANDARD_DATASETS["shapes3d"].factor_sizes))
    renders = [
        StandardData("shapes3d", data_dir=str(data_dir), storage=storage).render_standardised(factors)
        for storage in ("memory", "mmap", "device")
    ]
    assert torch.equal(renders[0], renders[1]) and torch.equal(renders[0], renders[2])


def test_a_wrong_checksum_is_refused_and_the_file_moved_aside(served):
    spec, _, data_dir = served("mpi3d_toy")
    wrong = dataclasses.replace(spec.files["images"], md5="0" * 32)
    with pytest.raises(ChecksumError) as raised:
        fetch(wrong, data_dir / "mpi3d_toy", retries=0)
    message = str(raised.value)
    assert "0" * 32 in message and spec.files["images"].md5 in message and "moved aside" in message
    folder = data_dir / "mpi3d_toy"
    assert not (folder / "mpi3d_toy.npz").exists()
    (moved,) = folder.glob("mpi3d_toy.npz.unverified.corrupt-*")
    assert md5(moved) == spec.files["images"].md5


def test_a_cached_file_with_the_wrong_checksum_is_moved_aside_and_fetched_again(served, caplog):
    spec, _, data_dir = served("mpi3d_toy")
    folder = data_dir / "mpi3d_toy"
    folder.mkdir(parents=True)
    (folder / "mpi3d_toy.npz").write_bytes(b"not the file")
    with caplog.at_level(logging.WARNING):
        path = fetch(spec.files["images"], folder, retries=0)
    assert md5(path) == spec.files["images"].md5
    assert len(list(folder.glob("mpi3d_toy.npz.corrupt-*"))) == 1 and "unusable" in caplog.text


def test_an_interrupted_transfer_is_retried(served):
    spec, server, data_dir = served("mpi3d_toy")
    server.breaks["mpi3d_toy.npz"] = 1
    path = fetch(spec.files["images"], data_dir / "mpi3d_toy", retries=2)
    assert md5(path) == spec.files["images"].md5
    assert server.requests.count("/mpi3d_toy.npz") == 2 and server.breaks["mpi3d_toy.npz"] == 0


def test_without_network_the_error_names_the_file_the_address_and_the_folder(tmp_path):
    remote = RemoteFile(url="http://127.0.0.1:9/dsprites.hdf5", md5="a" * 32, filename="dsprites.hdf5")
    with pytest.raises(DownloadError) as raised:
        fetch(remote, tmp_path / "dsprites", retries=0, timeout=5)
    message = str(raised.value)
    assert "dsprites.hdf5" in message and remote.url in message and str(tmp_path / "dsprites") in message
    assert "by hand" in message
    with pytest.raises(
        DownloadError, match=r"downloads are off.*by hand from http://127\.0\.0\.1:9/dsprites\.hdf5"
    ):
        fetch(remote, tmp_path / "dsprites", download=False)


def test_standard_data_with_downloads_off_says_what_to_fetch(tmp_path):
    url = STANDARD_DATASETS["dsprites"].files["images"].url
    with pytest.raises(DownloadError, match=rf"downloads are off.*{url.replace('.', '[.]')}"):
        StandardData("dsprites", data_dir=str(tmp_path), download=False)


def test_a_corrupt_or_stale_conversion_is_rebuilt(served, caplog, monkeypatch):
    spec, _, data_dir = served("cars3d")
    first = StandardData("cars3d", data_dir=str(data_dir)).images.clone()
    converted = data_dir / "cars3d" / "cars3d.npy"
    with converted.open("r+b") as file:  # flip a byte of the image data
        file.seek(-1, 2)
        last = file.read(1)
        file.seek(-1, 2)
        file.write(bytes([last[0] ^ 0xFF]))
    with caplog.at_level(logging.WARNING):
        rebuilt = StandardData("cars3d", data_dir=str(data_dir))
    assert "corrupt" in caplog.text and torch.equal(rebuilt.images, first)
    monkeypatch.setitem(STANDARD_DATASETS, "cars3d", dataclasses.replace(spec, version=spec.version + 1))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        StandardData("cars3d", data_dir=str(data_dir))
    assert "another recipe" in caplog.text
    description_path(converted).unlink()  # an unfinished conversion
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        StandardData("cars3d", data_dir=str(data_dir))
    assert "did not finish" in caplog.text


def test_a_truncated_archive_or_a_wrong_layout_names_the_file(served, tmp_path):
    spec, _, data_dir = served("mpi3d_toy")
    source = tmp_path / "sources" / "mpi3d_toy.npz"
    zip_member_truncated(source)
    files = {"images": dataclasses.replace(spec.files["images"], md5=md5(source))}
    with pytest.raises(ValueError, match=r"mpi3d_toy\.npz is truncated"):
        prepare_standard(dataclasses.replace(spec, files=files), data_dir)
    assert not (data_dir / "mpi3d_toy" / "mpi3d_toy.npy").exists()  # nothing half-converted is kept
    bigger = dataclasses.replace(spec, factor_sizes=(*spec.factor_sizes[:-1], 3), files=files)
    with pytest.raises(
        ValueError, match=r"mpi3d_toy\.npz 'images' has shape \(64, 64, 64, 3\), expected \(96,"
    ):
        prepare_standard(bigger, tmp_path / "other")


def test_a_file_without_the_expected_array_names_the_key(served, tmp_path):
    spec, _, data_dir = served("dsprites")
    source = tmp_path / "sources" / spec.files["images"].filename
    with h5py.File(source, "w") as file:
        file["images"] = np.zeros((32, 64, 64), np.uint8)
    files = {"images": dataclasses.replace(spec.files["images"], md5=md5(source))}
    with pytest.raises(ValueError, match=r"has no \['imgs', 'latents/classes'\] \(it holds \['images'\]\): not the dSprites"):
        prepare_standard(dataclasses.replace(spec, files=files), data_dir)


def test_factor_labels_out_of_grid_order_are_refused(served, tmp_path):
    spec, _, data_dir = served("shapes3d")
    source = tmp_path / "sources" / "3dshapes.h5"
    with h5py.File(source, "r+") as file:
        labels = file["labels"][:]
        file["labels"][...] = labels[::-1]
    files = {"images": dataclasses.replace(spec.files["images"], md5=md5(source))}
    with pytest.raises(
        ValueError, match=r"3dshapes\.h5: the rows are not in factor-grid order \(row 0 holds"
    ):
        prepare_standard(dataclasses.replace(spec, files=files), data_dir)


def test_the_overlap_audit_runs_on_a_downloaded_benchmark(tiny_benchmarks, tmp_path):
    spec = tiny_benchmarks.add("smallnorb")
    overrides = [
        "dataset=smallnorb",
        f"paths.data_dir={tiny_benchmarks.data_dir}",
        f"paths.output_dir={tmp_path}",
    ]
    small = ["num_traversals=4", "num_pairs=200", "triplets_per_traversal=4", "device=cpu"]
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose("audit", overrides=[*overrides, *small])
    result = audit(cfg)
    record = json.loads((tmp_path / "audit.json").read_text())
    assert (
        record["factors"]
        == list(spec.factor_names)
        == ["category", "instance", "elevation", "rotation", "lighting"]
    )
    verdict = (tmp_path / "verdict.txt").read_text()
    # the stripe of a factor with 3 values (instance) moves further with each step: MSE orders it; a
    # factor with 2 values has a single distance, constant by construction
    assert "mse can order instance" in verdict and "mse cannot order category" in verdict
    assert len(result.verdict_lines()) > len(spec.factor_names)
