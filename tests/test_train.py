"""The real entry point, in fresh processes: outputs, determinism and both ways to launch it."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import FAST, entry_point

pytestmark = pytest.mark.slow

ENTRY_POINT = entry_point("overlapvae-train")


def launch(command, run_dir, *overrides):
    environment = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    result = subprocess.run(
        [*command, *FAST, f"hydra.run.dir={run_dir}", *overrides],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def logged_losses(run_dir):
    with (run_dir / "csv" / "metrics.csv").open() as file:
        return [(row["step"], row["train/loss"]) for row in csv.DictReader(file) if row["train/loss"]]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cli") / "run"
    result = launch([ENTRY_POINT], run_dir, "seed=3", "logger=[csv,wandb_offline]")
    return run_dir, result


def test_a_twenty_step_run_writes_every_output(first_run):
    run_dir, result = first_run
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["status"] == "completed" and summary["error"] is None
    assert summary["steps"] == 20 and summary["seed"] == 3
    assert "seed=3" in summary["overrides"] and "debug=default" in summary["overrides"]
    assert set(summary["final"]) >= {"train/loss", "train/recon", "train/kl", "train/elbo"}
    assert summary["hyperparameters"]["beta"] == 0.0316 and summary["wall_time_s"] > 0
    checkpoint = torch.load(run_dir / summary["checkpoint"], weights_only=False)
    assert checkpoint["global_step"] == 20
    assert (run_dir / ".hydra" / "config.yaml").exists() and (run_dir / ".hydra" / "overrides.yaml").exists()
    assert sorted(p.name for p in (run_dir / "images").glob("*.png")) == [
        "step_0000010.png",
        "step_0000020.png",
    ]
    assert [p.name for p in (run_dir / "distances").glob("*.png")] == ["step_0000020.png"]
    assert len(logged_losses(run_dir)) == 4  # every 5 steps
    assert list((run_dir / "wandb").glob("offline-run-*")), "wandb wrote no offline run"
    assert f"outputs in {run_dir}" in result.stdout


def test_same_seed_gives_identical_losses_through_python_dash_m(first_run, tmp_path):
    run_dir, _ = first_run
    again = tmp_path / "again"
    launch([sys.executable, "-m", "overlapvae.cli.train"], again, "seed=3", "logger=csv")
    assert logged_losses(again) == logged_losses(run_dir)
    first, second = (json.loads((d / "metrics.json").read_text())["final"] for d in (run_dir, again))
    assert first == second


def test_another_seed_gives_other_losses(first_run, tmp_path):
    run_dir, _ = first_run
    other = tmp_path / "other"
    launch([ENTRY_POINT], other, "seed=4", "logger=csv")
    assert logged_losses(other) != logged_losses(run_dir)


@pytest.mark.parametrize(
    ("sent", "exit_code"), [(signal.SIGINT, 1), (signal.SIGTERM, 143), (signal.SIGUSR2, 128 + signal.SIGUSR2)]
)
def test_an_interrupted_run_saves_its_step_and_says_so(tmp_path, sent, exit_code):
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [ENTRY_POINT, *FAST, f"hydra.run.dir={run_dir}", "trainer.max_steps=100000", "logger=csv"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline:  # the first periodic checkpoint
        time.sleep(0.2)
    process.send_signal(sent)
    assert process.wait(timeout=120) == exit_code
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["status"] == "interrupted"
    assert torch.load(checkpoint, weights_only=False)["global_step"] == summary["steps"] > 0
    if sent == signal.SIGUSR2:  # a scheduler's warning: the step finished, was saved and is named
        assert summary["error"].startswith(f"received SIGUSR2 at step {summary['steps']}: checkpoint saved")
