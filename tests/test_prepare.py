"""``overlapvae-prepare``: data sets downloaded and converted ahead of time, errors before training."""

from __future__ import annotations

import json
import subprocess

import pytest
from hydra import compose, initialize_config_dir

from conftest import console_script, entry_point
from overlapvae.experiment.hydra_setup import config_dir
from tiny_sources import own_npz


def prepare(*overrides: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [entry_point("overlapvae-prepare"), *overrides], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_prepare_downloads_and_converts_a_benchmark(tiny_benchmarks, capsys):
    spec = tiny_benchmarks.add("cars3d")
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose("prepare", overrides=["dataset=cars3d", f"paths.data_dir={tiny_benchmarks.data_dir}"])
    console_script("overlapvae-prepare").__wrapped__(cfg)
    printed = capsys.readouterr().out
    assert f"ready: {spec.num_observations} images of shape (3, 64, 64)" in printed
    assert "elevation 2, azimuth 3, object_type 3" in printed
    described = json.loads((tiny_benchmarks.data_dir / "cars3d" / "cars3d.npy.json").read_text())
    assert described["recipe"]["sources"] == {"archive": spec.files["archive"].md5}
    assert len(described["sha256"]) == 64


@pytest.mark.slow
def test_prepare_end_to_end_on_own_data_and_for_procedural_data(tmp_path):
    source = own_npz(tmp_path / "mine.npz")
    done = prepare(
        "dataset=npz", f"dataset.path={source}", f"paths.data_dir={tmp_path / 'data'}", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "ready: 6 images of shape (3, 16, 16) (factor_0 2, factor_1 3)" in done.stdout
    assert len(list((tmp_path / "data" / "own").glob("mine-*/images.npy"))) == 1
    procedural = prepare("dataset=xysquares", cwd=tmp_path)
    assert procedural.returncode == 0 and "nothing to prepare" in procedural.stdout


@pytest.mark.slow
def test_prepare_without_downloads_names_the_address_and_the_folder(tmp_path):
    done = prepare("dataset=smallnorb", "dataset.download=false", f"paths.data_dir={tmp_path}", cwd=tmp_path)
    assert done.returncode != 0
    assert (
        "cs.nyu.edu/~ylclab/data/norb-v1.0-small/" in done.stderr
        and str(tmp_path / "smallnorb") in done.stderr
    )
