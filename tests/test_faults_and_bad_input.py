"""Nothing lost and every bad input refused by name: atomic checkpoints, one job per run dir, a
sweep of failed runs still collected, hints that survive spaces, and the command-line tools'
one-line errors (exit 1, the key and the fix named, no traceback unless asked for)."""

from __future__ import annotations

import errno
import json
import os
import shlex
import subprocess
import threading
import time
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from conftest import FAST, compose_train, console_script, entry_point
from overlapvae.results.report import sweep_report
from overlapvae.runs.directory import exclusive_run_dir
from overlapvae.training.checkpoint import AtomicCheckpointIO
from overlapvae.training.trainer import make_trainer
from overlapvae.utils import files


def test_a_failing_checkpoint_write_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    io, path = AtomicCheckpointIO(), tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"global_step": 10, "state_dict": {"w": torch.ones(1000)}}, path)

    def disk_full(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", disk_full)  # the write of step 20 fails part-way
    with pytest.raises(OSError, match="No space left"):
        io.save_checkpoint({"global_step": 20, "state_dict": {"w": torch.zeros(1000)}}, path)
    assert torch.load(path, weights_only=True)["global_step"] == 10  # step 10, whole
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no half-written file left
    assert isinstance(make_trainer(accelerator="cpu").strategy.checkpoint_io, AtomicCheckpointIO)


def test_a_second_job_for_the_same_run_dir_waits_for_the_first(tmp_path):
    entered = []

    def second_job():
        with exclusive_run_dir(tmp_path / "run"):
            entered.append(time.monotonic())

    with exclusive_run_dir(tmp_path / "run"):
        thread = threading.Thread(target=second_job)
        thread.start()
        time.sleep(0.5)
        assert entered == []  # still waiting
        released = time.monotonic()
    thread.join(timeout=10)
    assert entered and entered[0] >= released


def write_run(sweep_dir: Path, name: str, override: str, summary: str) -> None:
    run_dir = sweep_dir / name
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text(f"[{override}]\n")
    (run_dir / ".hydra" / "config.yaml").write_text("seed: 0\n")
    (run_dir / "metrics.json").write_text(summary)


def test_a_sweep_of_only_failed_and_corrupt_runs_is_collected_and_listed(tmp_path, capsys):
    sweep_dir = tmp_path / "a sweep"  # with a space
    failed = {
        "status": "failed",
        "steps": 0,
        "seed": 0,
        "overrides": ["loss=mse"],
        "final": {},
        "error": "boom",
    }
    write_run(sweep_dir, "one", "loss=mse", json.dumps(failed))
    write_run(sweep_dir, "two", "loss=l1", "{truncat")
    console_script("overlapvae-collect")([str(sweep_dir)])
    markdown = (sweep_dir / "results.md").read_text()
    assert "| one | failed | boom |" in markdown and "| two | corrupt | cannot read" in markdown
    report = sweep_report(sweep_dir)
    assert f"collect the results with: overlapvae-collect {shlex.quote(str(sweep_dir))}" in report
    assert shlex.split(report.splitlines()[-1].split(": ", 1)[1]) == ["overlapvae-collect", str(sweep_dir)]


@pytest.fixture(scope="module")
def checkpoint_dirs(tmp_path_factory):
    """A run dir whose checkpoint is corrupt, and a kernel file that is no kernel."""
    root = tmp_path_factory.mktemp("bad")
    run_dir = root / "run"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / "checkpoints").mkdir()
    OmegaConf.save(compose_train(list(FAST), run_dir), run_dir / ".hydra" / "config.yaml")
    (run_dir / "checkpoints" / "last.ckpt").write_bytes(b"PK\x03\x04 truncated")
    (root / "kernel.pt").write_text("not a kernel")
    return root


def command_line(tool: str, *arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    environment.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [entry_point(tool), *arguments],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=180,
        check=False,
    )


TRAIN = ("overlapvae-train", *FAST)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "named"),
    [
        ((*TRAIN, "seed=-1"), "error: seed=-1 is invalid: choose an integer in [0, 4294967295]"),
        ((*TRAIN, "loss.reduction=average"), "expected one of [mean, sum, sample_sum, none]"),
        ((*TRAIN, "dataset=npz"), "error: dataset.path is required and has no value: set it"),
        ((*TRAIN, "loss=mse_learnt", "loss.kernel_file={root}/kernel.pt"), "is not a kernel file"),
        ((*TRAIN, "-m", "loss=mse,l1,mse"), "error: loss=mse,l1,mse lists mse more than once"),
        (
            ("overlapvae-evaluate", "checkpoint={root}/absent"),
            "error: checkpoint={root}/absent: no checkpoint",
        ),
        (("overlapvae-evaluate", "checkpoint={root}/run"), "last.ckpt is not a readable checkpoint"),
        (("overlapvae-audit", "losses=[mse,l2]"), "error: no loss option 'l2': choose from bce, l1"),
    ],
)
def test_bad_input_exits_1_with_one_message_naming_it(checkpoint_dirs, tmp_path, command, named):
    tool, *arguments = (part.format(root=checkpoint_dirs) for part in command)
    result = command_line(tool, *arguments, f"hydra.run.dir={tmp_path / 'out'}", cwd=tmp_path)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    output = result.stdout + result.stderr
    assert named.format(root=checkpoint_dirs) in output, output[-2000:]
    assert "Traceback" not in output
    assert not (tmp_path / "out" / "checkpoints").exists()  # nothing trained


def outputs(run_dir: Path) -> dict[Path, bytes]:
    """Every file a run wrote (Hydra's own record of the latest launch aside)."""
    return {
        path: path.read_bytes()
        for path in run_dir.rglob("*")
        if path.is_file() and ".hydra" not in path.parts
    }


@pytest.mark.slow
def test_a_bad_value_relaunched_on_a_completed_run_changes_nothing_in_it(tmp_path):
    run_dir = tmp_path / "run"
    assert command_line(*TRAIN, f"hydra.run.dir={run_dir}", cwd=tmp_path).returncode == 0
    before = {
        path: path.read_bytes() for path in run_dir.rglob("*") if path.is_file() and ".hydra" not in str(path)
    }
    result = command_line(*TRAIN, "trainer.max_steps=0", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 1 and "trainer.max_steps=0 is invalid" in result.stderr
    after = {
        path: path.read_bytes() for path in run_dir.rglob("*") if path.is_file() and ".hydra" not in str(path)
    }
    assert after == before
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        shown = subprocess.run(
            [entry_point("overlapvae-train"), *FAST, "seed=-1", f"hydra.run.dir={tmp_path / 'other'}"],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        del os.environ["HYDRA_FULL_ERROR"]
    assert shown.returncode == 1 and "Traceback" in shown.stderr  # asked for: the traceback
