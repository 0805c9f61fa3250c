"""Shared fixtures: compose the real ``train`` config with test overrides."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("MPLBACKEND", "Agg")
# Measurements cached per data set (paths.cache_dir) go to this session's own folder, in this
# process and in every process a test starts.
os.environ.setdefault("OVERLAPVAE_CACHE_DIR", tempfile.mkdtemp(prefix="overlapvae-cache-"))

import local_http
import slurm_cluster as slurm_cluster_module
import tiny_sources
from overlapvae.data.standard import STANDARD_DATASETS
from overlapvae.experiment.hydra_setup import config_dir, register
from overlapvae.experiment.wandb_setup import finish_wandb
from overlapvae.utils.devices import available_cores

register()  # the schemas and resolvers the configs compose with


def _share_cores_between_workers() -> None:
    """Under pytest-xdist each worker, and every process it starts, uses its share of the cores
    (workers that each ran one torch thread per core would slow each other down)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        threads = max(1, available_cores() // workers)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        torch.set_num_threads(threads)


_share_cores_between_workers()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The SLURM tests first, then the other slow ones: spread over workers a file at a time, the
    longest files start at once instead of last."""
    items.sort(key=lambda item: (not item.get_closest_marker("slurm"), not item.get_closest_marker("slow")))


FAST = (
    "debug=default",
    "model=fc",
    "model.hidden_sizes=[32]",
    "model.latent_size=4",
    "datamodule.batch_size=8",
    "~callbacks.progress_bar",
    "+trainer.enable_progress_bar=false",
    "metrics@evaluation.periodic=none",
    "metrics@evaluation.final=none",
)


def entry_point(name: str) -> str:
    """The console script ``name`` of the environment under test (beside this interpreter), so a
    test never picks up another installation's script from the PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name) or name


def console_script(name: str) -> Callable[..., object]:
    """The function behind the console script ``name``, loaded through its entry point as the
    installed script loads it (tests run commands by their names, never by importing ``cli``)."""
    (script,) = importlib.metadata.entry_points(group="console_scripts", name=name)
    return script.load()


def compose_train(overrides: Sequence[str], output_dir: Path | None = None) -> DictConfig:
    """The ``train`` config with ``overrides``; ``paths.output_dir`` set when given."""
    extra = [f"paths.output_dir={output_dir}"] if output_dir is not None else []
    with initialize_config_dir(config_dir(), version_base="1.3"):
        return compose("train", overrides=[*overrides, *extra])


@pytest.fixture(autouse=True)
def _close_wandb_runs():
    """Runs trained outside ``train()`` must not leak a wandb run into the next test, nor a wandb
    service started in this process into a later test's subprocess: wandb hands the service's
    address to child processes (``WANDB_SERVICE``), and a child killed mid-run would leave its run
    open there, so the same run resumed by the next child is refused as "in use"."""
    yield
    finish_wandb()
    wandb = sys.modules.get("wandb")
    if wandb is not None:
        wandb.teardown()  # stops the service and clears WANDB_SERVICE


@pytest.fixture
def train_config(tmp_path: Path) -> Callable[..., DictConfig]:
    """``train_config(*overrides)``: a fast CPU config writing into a fresh ``tmp_path``."""

    def make(*overrides: str, fast: bool = True) -> DictConfig:
        return compose_train([*(FAST if fast else ()), *overrides], tmp_path)

    return make


def exhaustive_statistics(data, chunk: int = 2048) -> tuple[list[float], list[float]]:
    """Mean pixel value and mean per-image std (ddof=1) per channel over every image, on the
    [0, 1] scale, from exact integer sums."""
    pixels = data.image_shape[1] * data.image_shape[2]
    mean_total = torch.zeros(data.image_shape[0], dtype=torch.float64)
    std_total = torch.zeros_like(mean_total)
    for start in range(0, data.num_observations, chunk):
        indices = torch.arange(start, min(start + chunk, data.num_observations))
        images = data.render(data.indices_to_factors(indices)).to(torch.int32).flatten(2)
        sums = images.sum(dim=2, dtype=torch.int64).to(torch.float64)
        squares = images.square().sum(dim=2, dtype=torch.int64).to(torch.float64)
        mean_total += (sums / pixels).sum(dim=0)
        std_total += ((squares - sums.square() / pixels) / (pixels - 1)).clamp(min=0).sqrt().sum(dim=0)
    count = data.num_observations * 255.0
    return (mean_total / count).tolist(), (std_total / count).tolist()


@pytest.fixture(name="exhaustive_statistics")
def exhaustive_statistics_fixture():
    return exhaustive_statistics


class TinyBenchmarks:
    """Small source files of downloadable benchmarks, served on 127.0.0.1, with the registry
    (``STANDARD_DATASETS``) pointing at them for the length of one test."""

    def __init__(self, root: Path, server, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sources = root / "sources"
        self.data_dir = root / "data"
        self.server = server
        self.sources.mkdir()
        self._monkeypatch = monkeypatch

    def add(self, name: str):
        """Write and serve ``name``'s files; return its (small) spec."""
        maker, sizes = tiny_sources.maker_for(name)
        maker(self.sources, sizes)
        spec = tiny_sources.tiny_spec(name, sizes, self.sources, self.server.url)
        self._monkeypatch.setitem(STANDARD_DATASETS, name, spec)
        return spec


@pytest.fixture
def tiny_benchmarks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with local_http.serve(tmp_path / "sources") as server:
        yield TinyBenchmarks(tmp_path, server, monkeypatch)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A real one-node SLURM cluster (``slurm_cluster.start_cluster``) for the whole session. Skips
    with the reason where SLURM cannot run (packages missing, not root); with
    ``OVERLAPVAE_REQUIRE_SLURM=1`` (set by CI) that is a failure instead."""
    missing = slurm_cluster_module.missing_programs()
    reason = None
    if missing:
        packages = "slurmctld slurmd slurm-client munge"
        reason = f"SLURM is not installed (missing {', '.join(missing)}): apt-get install {packages}"
    elif os.geteuid() != 0:
        reason = "the test cluster's daemons run as root; run the tests as root"
    if reason is not None:
        if os.environ.get("OVERLAPVAE_REQUIRE_SLURM") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = slurm_cluster_module.start_cluster(tmp_path_factory.mktemp("slurm"))
    try:
        yield cluster
    finally:
        cluster.stop()
