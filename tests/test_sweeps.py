"""Sweeps through the real entry point: launchers, hashed run dirs, skip and resume, failures,
wandb offline runs, the results loader, the notebooks and the README's main job."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import nbclient
import pytest
import torch

from conftest import console_script, entry_point
from offline_wandb import offline_run
from overlapvae.results.tables import aggregate, load_sweep
from overlapvae.runs.directory import run_key
from overlapvae.utils.devices import available_cores

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
ENTRY_POINT = entry_point("overlapvae-train")
SWEEP = "overlap_vs_loss_demo_test"
TEST_SCALE = (
    "experiment=overlap_vs_loss_demo",
    "scale=test",
    "+trainer.enable_progress_bar=false",
    "~callbacks.progress_bar",
)
NO_METRICS = ("metrics@evaluation.periodic=none", "metrics@evaluation.final=none")


#: Set in this process by earlier in-process DDP-strategy tests; a child that inherits them would
#: believe it is one rank of an already launched group and wait for the others.
DISTRIBUTED_VARIABLES = ("MASTER_ADDR", "MASTER_PORT", "LOCAL_RANK", "NODE_RANK", "RANK", "WORLD_SIZE")


def environment(root: Path) -> dict[str, str]:
    inherited = {key: value for key, value in os.environ.items() if key not in DISTRIBUTED_VARIABLES}
    return {**inherited, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "OVERLAPVAE_ROOT": str(root)}


def sweep(root: Path, *overrides: str, expect: int = 0) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [ENTRY_POINT, "-m", *TEST_SCALE, *overrides],
        capture_output=True,
        text=True,
        env=environment(root),
        timeout=600,
        check=False,
    )
    assert result.returncode == expect, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def sweep_dir(root: Path) -> Path:
    return root / "logs" / "train" / "sweeps" / SWEEP


def summaries(root: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sweep_dir(root).glob("*/metrics.json")}


@pytest.fixture(scope="module")
def demo_sweep(tmp_path_factory):
    """The demo's 2x2 grid (loss {mse, l1_matched} x spacing {1, 8}) with the basic launcher."""
    root = tmp_path_factory.mktemp("basic")
    result = sweep(root, "callbacks.metrics.every_n_steps=20")
    return root, result


def test_a_2x2_sweep_writes_one_complete_run_per_job_in_hashed_dirs(demo_sweep):
    root, result = demo_sweep
    runs = summaries(root)
    assert len(runs) == 4
    grid = {(run["choices"]["loss"], run["hyperparameters"]["beta"]) for run in runs.values()}
    assert grid == {("mse", 0.001), ("l1_matched", 0.001)}
    scales = {run["choices"]["loss"]: run["hyperparameters"]["recon_scale"] for run in runs.values()}
    assert scales == {"mse": 1.0, "l1_matched": pytest.approx(65**0.5, rel=1e-5)}  # on MSE's scale
    spacings = {
        (run["choices"]["loss"], next(o for o in run["overrides"] if o.startswith("dataset.grid_spacing=")))
        for run in runs.values()
    }
    assert len(spacings) == 4
    for name, run in runs.items():
        assert run["status"] == "completed" and run["steps"] == 20 and run["sweep"] == SWEEP
        health = run["health"]  # 20 steps of batch 16 learn nothing: every run is flagged
        assert health["collapsed"] is True and health["ratio"] > 0.9 and len(health["history"]) == 2
        hydra_job = (sweep_dir(root) / name / ".hydra" / "hydra.yaml").read_text()
        dirname = next(line for line in hydra_job.splitlines() if "override_dirname:" in line)
        assert name == run_key(dirname.split("override_dirname:", 1)[1].strip(), 0)
    assert f"sweep {sweep_dir(root)}: 4 runs, 4 completed" in result.stdout
    assert f"overlapvae-collect {sweep_dir(root)}" in result.stdout


def test_each_job_is_its_own_offline_wandb_run_with_metrics_images_and_config(demo_sweep):
    root, result = demo_sweep
    for name, run in summaries(root).items():
        (directory,) = (sweep_dir(root) / name / "wandb").glob("offline-run-*")
        logged = offline_run(directory)
        assert logged["group"] == SWEEP and logged["job_type"] == "train"
        assert "overlap_vs_loss" in logged["tags"]
        assert {"config", "overrides", "choices", "derived"} <= logged["config_keys"]
        assert {"train/loss", "periodic/mig.discrete_mig", "final/mig.discrete_mig"} <= logged["history_keys"]
        assert {"train/reconstructions/_type", "train/distances/_type"} <= logged["history_keys"]
        summary = logged["summary"]
        assert summary["status"] == "completed" and summary["steps"] == 20
        final = run["disentanglement"]["final"]["mig.discrete_mig"]
        assert summary["final_metrics/mig.discrete_mig"] == pytest.approx(final)
        assert "periodic_max/dci.disentanglement" in summary
        assert summary["health/collapsed"] is True
        assert summary["health/ratio"] == pytest.approx(run["health"]["ratio"])
        assert {"health/ratio", "health/error"} <= logged["history_keys"]
    assert "wandb sync" in result.stdout


def test_relaunching_the_sweep_runs_nothing_new(demo_sweep):
    root, _ = demo_sweep
    before = {p: p.stat().st_mtime_ns for p in sweep_dir(root).glob("*/metrics.json")}
    result = sweep(root, "callbacks.metrics.every_n_steps=20")
    assert result.stdout.count("already complete (20 steps), skipped") == 4
    assert {p: p.stat().st_mtime_ns for p in sweep_dir(root).glob("*/metrics.json")} == before
    assert not list(sweep_dir(root).glob("*/checkpoints/*.corrupt-*"))


def test_the_loader_and_overlapvae_collect_read_the_sweep(demo_sweep, capsys):
    root, _ = demo_sweep
    frame = load_sweep(sweep_dir(root))
    assert len(frame) == 4 and set(frame["status"]) == {"completed"}
    assert {
        "loss",
        "dataset.grid_spacing",
        "framework",
        "seed",
        "framework.beta",
        "model.latent_size",
    } <= set(frame)
    assert {"final/mig.discrete_mig", "max/mig.discrete_mig", "max/dci.disentanglement", "loss/recon"} <= set(
        frame
    )
    assert sorted(zip(frame["loss"], frame["dataset.grid_spacing"], strict=True)) == [
        ("l1_matched", 1),
        ("l1_matched", 8),
        ("mse", 1),
        ("mse", 8),
    ]
    assert set(frame["model.latent_size"]) == {9} and set(frame["steps"]) == {20}
    assert set(frame["collapsed"]) == {True} and (frame["health/ratio"] > 0.9).all()
    table = aggregate(frame, metrics=["final/mig.discrete_mig"])
    assert list(table.columns[:2]) == ["loss", "dataset.grid_spacing"]
    assert set(table["completed"]) == {1} and set(table["collapsed"]) == {1}  # counted, left out:
    assert (
        set(table["final/mig.discrete_mig count"]) == {0}
        and table["final/mig.discrete_mig mean"].isna().all()
    )
    console_script("overlapvae-collect")([str(sweep_dir(root))])
    printed = capsys.readouterr().out
    assert "4 of 4 runs completed; 4 collapsed, left out of the means." in printed
    assert "| l1_matched | 1 | – | – | – | – | 1 of 1 collapsed |" in printed
    assert "## Collapsed runs (left out of the means)" in printed
    written = {p.name for p in sweep_dir(root).iterdir()}
    assert {
        "results.csv",
        "results.md",
        "compare_max_mig.discrete_mig.png",
        "compare_final_dci.disentanglement.png",
    } <= written
    assert len((sweep_dir(root) / "results.csv").read_text().strip().splitlines()) == 5


@pytest.mark.parametrize("notebook", ["01_dataset_overlap.py", "02_sweep_results.py"])
def test_the_notebooks_execute_headlessly(demo_sweep, notebook, monkeypatch):
    root, _ = demo_sweep
    monkeypatch.setenv("OVERLAPVAE_SWEEP_DIR", str(sweep_dir(root)))
    monkeypatch.setenv("OVERLAPVAE_NOTEBOOK_TRAVERSALS", "8")
    monkeypatch.setenv("OVERLAPVAE_NOTEBOOK_PAIRS", "500")
    cells = jupytext.read(REPO / "notebooks" / notebook)
    nbclient.NotebookClient(
        cells, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(REPO / "notebooks")}}
    ).execute()
    errors = [o for c in cells.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    text = "".join(o.get("text", "") for c in cells.cells for o in c.get("outputs", []))
    assert (
        ("4 runs; swept: loss, dataset.grid_spacing" in text)
        if notebook.startswith("02")
        else ("constant" in text)
    )


def test_the_joblib_launcher_runs_jobs_side_by_side_with_the_cores_split(tmp_path):
    result = sweep(tmp_path, "hydra/launcher=joblib", "loss=mse", *NO_METRICS)
    runs = summaries(tmp_path)
    assert len(runs) == 2 and {run["status"] for run in runs.values()} == {"completed"}
    assert "is launching 2 jobs" in result.stdout + result.stderr
    for run in runs.values():
        assert run["resources"]["threads"] == max(1, available_cores() // 2)
        assert run["resources"]["gpu"] is None and run["resources"]["slot"] in (0, 1)


def test_submitit_local_runs_a_job(tmp_path):
    sweep(tmp_path, "hydra/launcher=submitit_local", "loss=mse", "dataset.grid_spacing=1", *NO_METRICS)
    (run,) = summaries(tmp_path).values()
    assert run["status"] == "completed" and run["steps"] == 20
    assert (sweep_dir(tmp_path) / ".submitit").is_dir()


def test_a_killed_job_resumes_from_its_checkpoint_when_the_sweep_is_relaunched(tmp_path):
    overrides = (
        "loss=mse",
        "dataset.grid_spacing=1",
        "trainer.max_steps=150",
        "callbacks.images.every_n_steps=1000",
        "callbacks.distances.every_n_steps=1000",
        *NO_METRICS,
    )
    process = subprocess.Popen(
        [ENTRY_POINT, "-m", *TEST_SCALE, *overrides],
        env=environment(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while not list(sweep_dir(tmp_path).glob("*/checkpoints/last.ckpt")) and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 143
    ((name, interrupted),) = summaries(tmp_path).items()
    assert interrupted["status"] == "interrupted" and 0 < interrupted["steps"] < 150
    sweep(tmp_path, *overrides)
    resumed = summaries(tmp_path)[name]
    assert resumed["status"] == "completed" and resumed["steps"] == 150
    assert resumed["resumed_from"] == "checkpoints/last.ckpt"
    assert resumed["resumed_at_step"] == interrupted["steps"]
    checkpoint = torch.load(sweep_dir(tmp_path) / name / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 150


def test_one_failing_job_is_recorded_and_does_not_stop_the_others(tmp_path):
    result = sweep(
        tmp_path, "loss=mse", "dataset.grid_spacing=1", "framework.beta=-1,0.001", *NO_METRICS, expect=1
    )
    runs = summaries(tmp_path)
    assert sorted(run["status"] for run in runs.values()) == ["completed", "failed"]
    ((failed_name, failed),) = ((n, r) for n, r in runs.items() if r["status"] == "failed")
    assert "beta=-1.0 is invalid" in failed["error"] and "Traceback" in failed["traceback"]
    assert f"failed: {failed_name}" in result.stdout
    assert f"see {sweep_dir(tmp_path) / failed_name}/metrics.json" in result.stdout


def test_ddp_on_two_cpu_processes_writes_one_summary_and_one_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    command = [
        ENTRY_POINT,
        "debug=default",
        "model=fc",
        "model.hidden_sizes=[32]",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "logger=csv",
        f"hydra.run.dir={run_dir}",
        *NO_METRICS,
    ]
    with socket.socket() as probe:  # a port nobody holds (an inherited MASTER_PORT may be taken)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**environment(tmp_path), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "distributed_backend=gloo" in result.stdout + result.stderr
    assert [p.name for p in run_dir.rglob("metrics.json")] == ["metrics.json"]
    assert [p.name for p in run_dir.rglob("*.ckpt")] == ["last.ckpt"]
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 20
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 20


def test_the_readme_main_job_at_the_test_scale(tmp_path):
    if not (Path(sys.prefix) / ".installed").exists():
        pytest.skip("make train needs the Makefile's own environment (.venv, made by make install)")
    result = subprocess.run(
        [
            "make",
            "-C",
            str(REPO),
            f"VENV={sys.prefix}",
            "train",
            "SCALE=test",
            f"ARGS={' '.join(NO_METRICS[:1])}",
        ],
        capture_output=True,
        text=True,
        env=environment(tmp_path),
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "4 of 4 runs completed; 4 collapsed" in result.stdout  # 20 steps learn nothing
    assert f"markdown: {sweep_dir(tmp_path)}/results.md" in result.stdout.replace("/./", "/")
    assert (sweep_dir(tmp_path) / "compare_final_mig.discrete_mig.png").exists()
