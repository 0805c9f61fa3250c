"""A pack of runs is those runs: what each member records (losses, CSV history, scores, health,
checkpoints) against the same run trained alone, a packed member resumed from its checkpoint
against an uninterrupted pack, a member whose loss becomes non-finite, and the packed launcher
on a mixed grid through the real entry point."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from conftest import FAST, compose_train
from hydra_plugins.overlapvae_launcher.packed import group_into_packs, why_not_packed
from offline_wandb import offline_run
from overlapvae.experiment.hydra_state import JobContext
from overlapvae.experiment.jobs.train import train
from overlapvae.experiment.jobs.train_pack import PackJob, settings_apart, train_pack
from overlapvae.experiment.trained import load_trained
from overlapvae.utils.devices import available_cores
from overlapvae.utils.validation import InvalidInputError
from test_resume import METRICS, history, results
from test_sweeps import ENTRY_POINT, environment

pytestmark = pytest.mark.slow

#: 20 steps in epochs of 7, checkpoints every 10, logs every 4 (windows open at checkpoints).
SHORT = (
    *FAST,
    "trainer.max_steps=20",
    "trainer.log_every_n_steps=4",
    "datamodule.steps_per_epoch=7",
    "callbacks.last_checkpoint.every_n_train_steps=10",
    "logger=csv",
)
#: Packed and alone, a member's float32 numbers agree to within a few ulps per step (vmapped
#: convolutions and matmuls sum in another order); scores computed from them, to within this.
RTOL, ATOL = 1e-4, 1e-6

GRIDS = {
    # β-VAE members differing in β, seed, spacing and loss (the L1 member trains in a second group)
    "betavae": [
        ["seed=0", "framework.beta=0.1"],
        ["seed=1", "framework.beta=1.0", "dataset.grid_spacing=4"],
        ["seed=2", "loss=l1"],
    ],
    # (at lr 1e-4: at 1e-3 these tiny runs diverge within 20 steps, and the TC estimate, a small
    # difference of large terms, then amplifies float32 rounding beyond any fixed tolerance)
    "betatcvae": [
        ["framework=betatcvae", "seed=0", "optimizer.lr=1e-4"],
        ["framework=betatcvae", "seed=1", "framework.beta=2.0", "optimizer.lr=1e-4"],
    ],
    "adagvae": [["framework=adagvae", "seed=0"], ["framework=adagvae", "seed=3", "framework.beta=0.5"]],
}


def pack_jobs(root: Path, grid: list[list[str]], *extra: str, name: str = "pack") -> list[PackJob]:
    return [
        PackJob(
            compose_train([*SHORT, *extra, *overrides], root / f"{name}{index}"), JobContext(list(overrides))
        )
        for index, overrides in enumerate(grid)
    ]


def save_config(cfg) -> None:
    """Where Hydra saves a job's config (``load_trained`` rebuilds the run from it)."""
    directory = Path(cfg.paths.output_dir) / ".hydra"
    directory.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, directory / "config.yaml")


def close(packed, alone) -> None:
    """Nested records equal, floats to ``RTOL``/``ATOL``, CSV cells (strings of floats) too."""
    if isinstance(alone, dict):
        assert packed.keys() == alone.keys()
        for key in alone:
            close(packed[key], alone[key])
    elif isinstance(alone, list):
        assert len(packed) == len(alone)
        for mine, theirs in zip(packed, alone, strict=True):
            close(mine, theirs)
    elif isinstance(alone, float) or (
        isinstance(alone, str) and alone.replace(".", "", 1).lstrip("-").isdigit()
    ):
        assert float(packed) == pytest.approx(float(alone), rel=RTOL, abs=ATOL)
    else:
        assert packed == alone


@pytest.mark.parametrize("framework", list(GRIDS))
def test_each_member_of_a_pack_records_what_its_run_records_alone(tmp_path, framework):
    grid = GRIDS[framework]
    extra = METRICS if framework == "betavae" else ()
    for index, overrides in enumerate(grid):
        cfg = compose_train([*SHORT, *extra, *overrides], tmp_path / f"alone{index}")
        train(cfg)
        save_config(cfg)
    jobs = pack_jobs(tmp_path, grid, *extra)
    records = train_pack(jobs)
    for job in jobs:
        save_config(job.cfg)
    for index, record in enumerate(records):
        alone, packed = tmp_path / f"alone{index}", tmp_path / f"pack{index}"
        assert record["status"] == "completed" and record["resources"]["pack"] == {"size": len(grid)}
        close(results(packed), results(alone))
        close(history(packed), history(alone))
        summary = json.loads((packed / "metrics.json").read_text())
        assert summary["overrides"] == grid[index] and summary["checkpoint"] == "checkpoints/last.ckpt"
        if framework == "betavae":
            assert "mig.discrete_mig" in summary["disentanglement"]["final"]  # scores compared above
        # the member's checkpoint is a run's checkpoint: it loads into the model its config builds
        trained = load_trained(packed, torch.device("cpu"))
        reference = load_trained(alone, torch.device("cpu"))
        assert trained.step == reference.step == 20
        for name, weight in trained.model.framework.state_dict().items():
            torch.testing.assert_close(
                weight, reference.model.framework.state_dict()[name], rtol=1e-3, atol=1e-5
            )


def interrupt_pack(jobs: list[PackJob], step: int) -> None:
    """Train the pack until its first member's callback sends the scheduler's SIGUSR2 at ``step``."""
    stop = compose_train(
        [*SHORT, "+callbacks.stop._target_=interrupting.SignalAtStep", f"+callbacks.stop.step={step}"],
        jobs[0].cfg.paths.output_dir,
    )
    jobs = [PackJob(stop if index == 0 else job.cfg, job.context) for index, job in enumerate(jobs)]
    with pytest.raises(SystemExit) as exited:
        train_pack(jobs)
    assert exited.value.code == 128 + signal.SIGUSR2
    for job in jobs:
        summary = json.loads((Path(job.cfg.paths.output_dir) / "metrics.json").read_text())
        assert summary["status"] == "interrupted" and summary["steps"] == step


def test_a_packed_member_resumed_from_its_checkpoint_continues_as_if_never_stopped(tmp_path):
    grid = [["seed=0"], ["seed=1", "framework.beta=0.5"]]
    train_pack(pack_jobs(tmp_path, grid, name="straight"))
    resumed = pack_jobs(tmp_path, grid, name="resumed")
    interrupt_pack(resumed, 13)  # mid-epoch, mid-window, after the checkpoint of step 10
    records = train_pack(resumed)
    for index, record in enumerate(records):
        assert record["status"] == "completed" and record["resumed_at_step"] == 13
        assert results(tmp_path / f"resumed{index}") == results(tmp_path / f"straight{index}")
        assert history(tmp_path / f"resumed{index}") == history(tmp_path / f"straight{index}")
    assert all(record.get("skipped") for record in train_pack(resumed))  # complete: skipped


def test_a_checkpoint_of_a_pack_resumes_in_a_pack_only(tmp_path):
    jobs = pack_jobs(tmp_path, [["seed=0"], ["seed=1"]])
    interrupt_pack(jobs, 12)
    with pytest.raises(InvalidInputError, match=r"written by a pack of runs.*hydra/launcher=packed"):
        train(jobs[1].cfg)


def test_a_run_trained_alone_resumes_in_a_pack_as_if_never_stopped(tmp_path):
    overrides = ["seed=4"]
    train(compose_train([*SHORT, *overrides], tmp_path / "straight"))
    stop = ["+callbacks.stop._target_=interrupting.SignalAtStep", "+callbacks.stop.step=13"]
    with pytest.raises(SystemExit):
        train(compose_train([*SHORT, *overrides, *stop], tmp_path / "pack0"))
    (record,) = train_pack(pack_jobs(tmp_path, [overrides]))
    assert record["resumed_at_step"] == 13
    close(results(tmp_path / "pack0"), results(tmp_path / "straight"))
    close(history(tmp_path / "pack0"), history(tmp_path / "straight"))


def test_a_member_whose_loss_becomes_non_finite_stops_alone(tmp_path):
    grid = [["seed=0"], ["seed=1", "framework.beta=inf"]]  # an infinite loss from the first step
    first, second = train_pack(pack_jobs(tmp_path, grid))
    assert first["status"] == "completed" and first["steps"] == 20
    assert second["status"] == "failed" and "NonFiniteLossError" in second["error"]
    assert (
        "non-finite at step 1" in second["error"] and second["steps"] == 4
    )  # its guard checks every 4 steps
    assert not (tmp_path / "pack1" / "checkpoints" / "last.ckpt").exists()  # no checkpoint of NaNs


def test_runs_that_cannot_share_a_loop_are_refused_and_named(tmp_path):
    jobs = pack_jobs(tmp_path, [["optimizer.lr=1e-3"], ["optimizer.lr=5e-4"]])
    assert settings_apart(jobs[1].cfg, jobs[0].cfg) == "optimizer.lr=0.0005, not 0.001"
    with pytest.raises(InvalidInputError, match="share their trainer and optimiser settings"):
        train_pack(jobs)


def sweep(root: Path, *overrides: str) -> str:
    """A multirun of ``overrides`` through the entry point; its log."""
    command = [ENTRY_POINT, "-m", *FAST, "logger=csv", "trainer.max_steps=12", *overrides]
    result = subprocess.run(
        command, capture_output=True, text=True, env=environment(root), timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def by_overrides(sweep_dir: Path) -> dict[tuple[str, ...], dict]:
    """A sweep's summaries by their overrides, less the sweep's name."""
    summaries = [json.loads(path.read_text()) for path in sweep_dir.glob("*/metrics.json")]
    return {tuple(o for o in s["overrides"] if not o.startswith("sweep_name=")): s for s in summaries}


def test_the_packed_launcher_trains_a_mixed_grid_two_packs_at_once_as_the_basic_launcher_does(tmp_path):
    grid = ("optimizer.lr=1e-3,5e-4", "loss=mse,l1")
    sweep(tmp_path, *grid, "sweep_name=basic")
    packed_launcher = ("hydra/launcher=packed", "hydra.launcher.packs_at_once=2")
    log = sweep(tmp_path, *grid, "sweep_name=packed", *packed_launcher)
    assert "4 training jobs in 2 packs (pack_size 8)" in log  # one pack per learning rate
    assert "cannot pack with #0: optimizer.lr=0.0005, not 0.001" in log
    sweeps = tmp_path / "logs" / "debug" / "sweeps"
    alone, packed = by_overrides(sweeps / "basic"), by_overrides(sweeps / "packed")
    assert len(alone) == 4 and alone.keys() == packed.keys()
    for key, member in packed.items():  # each pack: an MSE and an L1 group
        assert member["status"] == "completed" and member["resources"]["pack"]["size"] == 2
        threads = max(1, available_cores() // 2)  # the cores shared by the 2 workers
        assert member["resources"]["slot"] in (0, 1) and member["resources"]["threads"] == threads
        assert member["choices"] == alone[key]["choices"]
        close(member["final"], alone[key]["final"])
    sweep(tmp_path, *grid, "sweep_name=packed", "hydra/launcher=packed")  # one pack at a time
    assert by_overrides(sweeps / "packed") == packed  # complete: skipped, nothing rewritten


def test_each_member_of_a_pack_is_its_own_offline_wandb_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    grid = [["seed=0"], ["seed=1", "framework.beta=0.5"]]
    records = train_pack(pack_jobs(tmp_path, grid, "logger=[csv,wandb_offline]"))
    run_ids = set()
    for index, record in enumerate(records):
        (directory,) = (tmp_path / f"pack{index}" / "wandb").glob("offline-run-*")
        assert record["wandb"] == [str(directory)]
        logged = offline_run(directory)
        run_ids.add(logged["run_id"])
        assert {"config", "overrides", "choices", "derived"} <= logged["config_keys"]
        assert {"train/loss", "health/ratio"} <= logged["history_keys"]
        assert logged["summary"]["status"] == "completed" and logged["summary"]["steps"] == 20
    assert len(run_ids) == 2  # two runs open side by side in one process, each closed with its outcome


def test_a_pack_stopped_after_its_last_step_writes_its_results_on_relaunch(tmp_path):
    jobs = pack_jobs(tmp_path, [["seed=0"], ["seed=1"]])
    train_pack(jobs)
    for job in jobs:  # as if killed during the final health check: the record lacks it
        path = Path(job.cfg.paths.output_dir) / "metrics.json"
        summary = json.loads(path.read_text())
        summary["health"]["step"] = 10
        path.write_text(json.dumps(summary))
    for record in train_pack(jobs):
        assert record["status"] == "completed" and record["recovered"] == "final_evaluation"
        assert record["resumed_at_step"] == 20 and record["health"]["step"] == 20


def test_jobs_are_packed_by_key_in_launch_order_and_distributed_ones_run_alone():
    assert group_into_packs(["a", "a", "b", "a", "a"], pack_size=3) == [[0, 1, 3], [4], [2]]
    assert group_into_packs(["a", "b"], pack_size=8) == [[0], [1]]
    assert why_not_packed(compose_train([*FAST])) is None
    assert "spans several devices" in why_not_packed(
        compose_train([*FAST, "trainer=ddp", "trainer.devices=2"])
    )
    assert why_not_packed(OmegaConf.create({"data": {}})) == "it is not a training job"
