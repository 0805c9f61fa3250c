"""A resumed run is the same run, and a completed run never loses its results: interruptions and
kills at chosen steps through the real training path, against uninterrupted runs of the same seed."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import torch

from conftest import FAST, compose_train, entry_point
from offline_wandb import offline_run
from overlapvae.experiment.jobs.train import train
from overlapvae.runs.directory import holds_complete_run

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
ENTRY_POINT = entry_point("overlapvae-train")
#: 30 steps in epochs of 7 (so interruptions fall mid-epoch), checkpoints every 10, logs every 5.
SHORT = (
    *(option for option in FAST if not option.startswith("metrics@")),
    "metrics@evaluation.periodic=none",
    "trainer.max_steps=30",
    "datamodule.steps_per_epoch=7",
    "callbacks.last_checkpoint.every_n_train_steps=10",
    "logger=csv",
)
#: The test suite of metrics, periodic and final, without its slowest (DCI's boosted trees).
METRICS = (
    "metrics@evaluation.periodic=test",
    "metrics@evaluation.final=test",
    "~evaluation.periodic.metrics.dci",
    "~evaluation.final.metrics.dci",
)


def history(run_dir: Path) -> list[dict[str, str]]:
    """``csv/metrics.csv`` without the seconds each metric took (wall time, never reproducible)."""
    with (run_dir / "csv" / "metrics.csv").open() as file:
        rows = list(csv.DictReader(file))
    return [
        {key: value for key, value in row.items() if not key.startswith("metric_seconds/")} for row in rows
    ]


def results(run_dir: Path) -> dict:
    """What must be identical between two runs of one seed: steps, losses, scores, health."""
    summary = json.loads((run_dir / "metrics.json").read_text())
    scores = summary.get("disentanglement") or {}
    return {
        "status": summary["status"],
        "steps": summary["steps"],
        "final": summary["final"],
        "scores": {key: scores.get(key) for key in ("final", "periodic_max", "periodic")},
        "health": summary["health"],
    }


def interrupt(overrides: list[str], run_dir: Path, step: int) -> None:
    """Train in this process until a scheduler's SIGUSR2 arrives after ``step``."""
    stop = ["+callbacks.stop._target_=interrupting.SignalAtStep", f"+callbacks.stop.step={step}"]
    with pytest.raises(SystemExit) as exited:
        train(compose_train([*overrides, *stop], run_dir))
    assert exited.value.code == 128 + signal.SIGUSR2
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["status"] == "interrupted" and summary["steps"] == step


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference run of each setting, trained once in this process."""
    runs: dict[tuple[str, ...], Path] = {}

    def run(overrides: tuple[str, ...]) -> Path:
        if overrides not in runs:
            runs[overrides] = tmp_path_factory.mktemp("uninterrupted")
            train(compose_train(list(overrides), runs[overrides]))
        return runs[overrides]

    return run


@pytest.mark.parametrize(
    ("framework", "steps", "metrics"),
    [
        ("betavae", (7, 23), METRICS),  # with periodic and final metrics: their history resumes too
        ("adagvae", (9, 17), ()),  # draws pairs from the data stream and noise from the global one
        ("betatcvae", (9, 17), ()),
    ],
)
def test_a_run_interrupted_and_resumed_gives_the_uninterrupted_runs_numbers(
    uninterrupted, tmp_path, recwarn, framework, steps, metrics
):
    overrides = (*SHORT, f"framework={framework}", "seed=5", *metrics)
    reference = uninterrupted(overrides)
    run_dir = tmp_path / "run"
    for step in steps:
        interrupt(list(overrides), run_dir, step)
    recwarn.clear()
    summary = train(compose_train(list(overrides), run_dir))
    warned = " ".join(str(warning.message) for warning in recwarn)
    assert "not resumable" not in warned and "will be deleted" not in warned  # loader and history resume
    assert summary["resumed_at_step"] == steps[-1] and summary["recovered"] is None
    assert results(run_dir) == results(reference)  # bit for bit on a CPU
    assert history(run_dir) == history(reference)  # every row, none twice


def launch(run_dir: Path, *overrides: str, expect: int = 0) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(TESTS), "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    result = subprocess.run(
        [ENTRY_POINT, *SHORT, *METRICS, "seed=6", f"hydra.run.dir={run_dir}", *overrides],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert result.returncode == expect, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def reference_process(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    launch(run_dir)
    return run_dir


def test_a_run_killed_between_checkpoints_resumes_with_its_history_cut_back_and_one_wandb_run(
    reference_process, tmp_path
):
    run_dir = tmp_path / "run"
    wandb = ("logger=[csv,wandb_offline]", "+logger.csv.flush_logs_every_n_steps=1")  # rows on disk at once
    kill = ("+callbacks.kill._target_=interrupting.SignalAtStep", "+callbacks.kill.step=17")
    launch(run_dir, *wandb, *kill, "+callbacks.kill.signal_name=SIGKILL", expect=-signal.SIGKILL)
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 10
    assert any(row["step"] == "14" for row in history(run_dir))  # logged after the checkpoint
    result = launch(run_dir, *wandb)
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["resumed_at_step"] == 10
    assert results(run_dir) == results(reference_process)
    assert history(run_dir) == history(reference_process)  # steps 11-17 once, not twice
    first, second = (Path(path) for path in summary["wandb"])
    run_id = (run_dir / "wandb" / "run_id").read_text()
    assert (
        first.name < second.name and first.name.endswith(f"-{run_id}") and second.name.endswith(f"-{run_id}")
    )
    assert offline_run(second)["run_id"] == run_id  # the resumed process continued the same wandb run
    assert f"wandb sync {first} {second}" in result.stdout


def test_a_run_killed_at_its_end_finishes_its_results_on_relaunch(reference_process, tmp_path):
    run_dir = tmp_path / "run"
    launch(run_dir, "+callbacks.kill._target_=interrupting.KillAtTrainingEnd", expect=-signal.SIGKILL)
    assert not (run_dir / "metrics.json").exists()
    launch(run_dir)
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["recovered"] == "final_evaluation" and summary["resumed_at_step"] == 30
    assert results(run_dir) == results(reference_process)
    assert history(run_dir) == history(reference_process)
    assert holds_complete_run(run_dir, max_steps=30)  # from now on a relaunch skips it


def test_a_truncated_summary_of_a_finished_run_is_recovered_from_its_checkpoint(tmp_path):
    overrides, run_dir = [*SHORT, *METRICS, "seed=7"], tmp_path / "run"
    train(compose_train(overrides, run_dir))
    complete = results(run_dir)
    (run_dir / "metrics.json").write_text('{"status": "compl')
    summary = train(compose_train(overrides, run_dir))
    assert summary["recovered"] == "final_evaluation"
    assert summary["recovered_because"] == "unreadable metrics.json"
    assert results(run_dir) == complete
    assert len(list(run_dir.glob("metrics.json.corrupt-*"))) == 1
