"""Run dirs (keys, skip, resume, corrupt files), launcher checks, machine sharing, per-rank data
streams, the wandb loader and the collected summary, on hand-made inputs."""

import json
import math
import os
import subprocess
import sys
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from conftest import console_script
from overlapvae.data import GroundTruthDataModule, XYSquares
from overlapvae.experiment import launching
from overlapvae.experiment.launching import LauncherUnavailableError, check_launcher, claim_slot
from overlapvae.results.figures import comparison_figure
from overlapvae.results.report import markdown_summary
from overlapvae.results.tables import aggregate, load_sweep, load_wandb
from overlapvae.runs.directory import holds_complete_run, inspect_run_dir, run_key
from overlapvae.runs.record import RunSummary

SUMMARY = {"status": "completed", "steps": 100, "seed": 0, "overrides": [], "final": {"train/loss": 0.5}}


def test_run_keys_are_stable_hashes_of_overrides_and_seed():
    key = run_key("dataset.grid_spacing=8,loss=l1", 0)
    assert key == run_key("dataset.grid_spacing=8,loss=l1", "0") and len(key) == 12
    assert int(key, 16) >= 0
    assert key != run_key("dataset.grid_spacing=8,loss=l1", 1)
    assert key != run_key("dataset.grid_spacing=8,loss=mse", 0)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_complete_run_is_skipped_and_an_incomplete_one_is_not(tmp_path):
    write(tmp_path / "metrics.json", json.dumps(SUMMARY))
    assert inspect_run_dir(tmp_path, max_steps=100).completed == RunSummary.from_json(SUMMARY)
    assert inspect_run_dir(tmp_path, max_steps=200).completed is None  # asked to train longer
    write(tmp_path / "metrics.json", json.dumps({**SUMMARY, "status": "failed"}))
    assert inspect_run_dir(tmp_path, max_steps=100).completed is None


@pytest.mark.parametrize(
    ("lacking", "missing"),
    [
        ({"final": {}}, "the final losses"),
        ({"disentanglement": {"final": None}}, "the final evaluation"),
        ({"health": {"step": 50}}, "the final health check"),
    ],
)
def test_a_completed_summary_without_its_results_is_not_complete(tmp_path, lacking, missing):
    write(tmp_path / "metrics.json", json.dumps({**SUMMARY, **lacking}))
    start = inspect_run_dir(tmp_path, max_steps=100)
    assert start.completed is None and start.unfinished == f"completed without {missing}"
    assert not holds_complete_run(tmp_path, max_steps=100)
    complete = {**SUMMARY, "disentanglement": {"final": {}}, "health": {"step": 100}}
    write(tmp_path / "metrics.json", json.dumps(complete))
    assert inspect_run_dir(tmp_path, max_steps=100).completed == RunSummary.from_json(complete)


def test_the_launchers_read_only_check_agrees_and_leaves_bad_summaries_in_place(tmp_path):
    assert not holds_complete_run(tmp_path, max_steps=100)  # no metrics.json
    write(tmp_path / "metrics.json", json.dumps(SUMMARY))
    assert holds_complete_run(tmp_path, max_steps=100) and not holds_complete_run(tmp_path, max_steps=200)
    write(tmp_path / "metrics.json", "{not json")
    assert not holds_complete_run(tmp_path, max_steps=100)
    assert (tmp_path / "metrics.json").read_text() == "{not json" and not list(tmp_path.glob("*.corrupt-*"))


def test_a_run_with_a_checkpoint_resumes_from_its_step(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    torch.save({"global_step": 7, "state_dict": {}}, tmp_path / "checkpoints" / "last.ckpt")
    start = inspect_run_dir(tmp_path, max_steps=100)
    assert start.checkpoint == tmp_path / "checkpoints" / "last.ckpt" and start.step == 7


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "cannot read"),
        (json.dumps({"status": "completed"}), "is partial: it lacks steps"),
        ("[1]", "holds list"),
    ],
)
def test_a_corrupt_or_partial_summary_is_reported_moved_aside_and_rerun(tmp_path, caplog, content, reason):
    write(tmp_path / "metrics.json", content)
    start = inspect_run_dir(tmp_path, max_steps=100)
    assert start.completed is None and start.checkpoint is None
    (moved,) = tmp_path.glob("metrics.json.corrupt-*")
    assert moved.read_text() == content and not (tmp_path / "metrics.json").exists()
    assert reason in caplog.text and "finished from its checkpoint or run again" in caplog.text
    assert start.unfinished == "unreadable metrics.json"


def test_a_corrupt_checkpoint_is_moved_aside_and_the_run_starts_afresh(tmp_path, caplog):
    write(tmp_path / "checkpoints" / "last.ckpt", "truncated")
    start = inspect_run_dir(tmp_path, max_steps=100)
    assert start.checkpoint is None and start.step == 0
    assert len(list((tmp_path / "checkpoints").glob("last.ckpt.corrupt-*"))) == 1
    assert "last.ckpt is unusable" in caplog.text


def test_a_launcher_whose_plugin_is_missing_names_the_extra(monkeypatch):
    monkeypatch.setattr(launching.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(LauncherUnavailableError, match=r"pip install 'overlapvae\[sweeps\]'"):
        check_launcher(["experiment=overlap_vs_loss", "hydra/launcher=joblib"])
    check_launcher(["hydra/launcher=basic"])  # Hydra's own: nothing to install
    check_launcher(["seed=1"])


def test_the_slurm_launcher_without_sbatch_stops_before_anything_is_submitted(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(launching.shutil, "which", lambda name: None)
    monkeypatch.setenv("OVERLAPVAE_ROOT", str(tmp_path))
    monkeypatch.setattr(
        sys, "argv", ["overlapvae-train", "-m", "experiment=overlap_vs_loss", "hydra/launcher=slurm"]
    )
    with pytest.raises(SystemExit, match="sbatch, which is not on the PATH"):
        console_script("overlapvae-train")()
    assert not any(tmp_path.iterdir())


def test_an_unknown_experiment_lists_the_real_ones(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "overlapvae.cli.train", "experiment=overlap_vs_lost"],
        capture_output=True,
        text=True,
        env={**os.environ, "OVERLAPVAE_ROOT": str(tmp_path)},
        timeout=120,
    )
    assert result.returncode == 1
    assert "Could not find 'experiment/overlap_vs_lost'" in result.stderr
    assert "overlap_vs_loss" in result.stderr.split("Available options in 'experiment':")[1]


def test_slots_are_exclusive_and_start_at_the_preferred_one(tmp_path):
    first, first_handle = claim_slot(tmp_path, preferred=1, num_slots=2)
    second, second_handle = claim_slot(tmp_path, preferred=1, num_slots=2)
    assert (first, second) == (1, 0)
    with pytest.raises(RuntimeError, match="all 2 slots"):
        claim_slot(tmp_path, preferred=0, num_slots=2)
    first_handle.close()  # a worker that exits frees its slot
    assert claim_slot(tmp_path, preferred=0, num_slots=2)[0] == 1
    second_handle.close()


PIN = """
import os, sys, torch
from pathlib import Path
from overlapvae.experiment.launching import share_machine
os.environ["CUDA_VISIBLE_DEVICES"] = "3,5"
first = share_machine(job_num=int(sys.argv[2]), n_jobs=2, lock_dir=Path(sys.argv[1]))
again = share_machine(job_num=0, n_jobs=2, lock_dir=Path(sys.argv[1]))
print(first.slot, first.gpu, os.environ["CUDA_VISIBLE_DEVICES"], again == first, torch.get_num_threads())
"""


def test_a_joblib_worker_is_pinned_to_its_slots_gpu_once(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PIN, str(tmp_path), "3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    threads = max(1, launching.available_cores() // 2)
    assert result.stdout.split() == ["1", "5", "5", "True", str(threads)]


class FakeTrainer(SimpleNamespace):
    def __init__(self, rank, step=0):
        super().__init__(
            global_rank=rank, global_step=step, strategy=SimpleNamespace(root_device=torch.device("cpu"))
        )


def module_on_rank(rank, step=0):
    module = GroundTruthDataModule(XYSquares(grid_spacing=4), standardise=True, batch_size=64, seed=3)
    module.trainer = FakeTrainer(rank, step)
    return module


def test_each_ddp_rank_draws_its_own_batches_also_after_resuming():
    rank0, rank1 = module_on_rank(0), module_on_rank(1)
    assert not torch.equal(rank0.sample_batch()[1], rank1.sample_batch()[1])
    assert torch.equal(module_on_rank(1).sample_batch()[1], module_on_rank(1).sample_batch()[1])
    saved = rank0.state_dict()  # Lightning saves rank 0's module only
    resumed0, resumed1 = module_on_rank(0, step=5), module_on_rank(1, step=5)
    for module in (resumed0, resumed1):
        module.load_state_dict(saved)
    continued = rank0.sample_batch()[1]
    assert torch.equal(resumed0.sample_batch()[1], continued)  # rank 0 continues its own stream
    assert not torch.equal(resumed1.sample_batch()[1], continued)


class FakeSummary(dict):
    pass


def fake_run(run_id, loss, spacing, seed, mig, state="finished", ratio=0.5):
    summary = FakeSummary(
        {
            "status": "completed",
            "steps": 20,
            "seed": seed,
            "final_metrics/mig.discrete_mig": mig,
            "periodic_max/mig.discrete_mig": mig + 0.1,
            "final_losses/train/recon": 0.5,
            "health/collapsed": ratio > 0.9,
            "health/ratio": ratio,
        }
    )
    config = {
        "config": {"seed": seed, "dataset": {"grid_spacing": spacing}, "framework": {"beta": 0.001}},
        "overrides": [f"loss={loss}", f"dataset.grid_spacing={spacing}", f"seed={seed}"],
        "choices": {"loss": loss, "framework": "betavae"},
        "derived": {"recon_scale": 8.0 if loss == "l1" else 1.0},
    }
    return SimpleNamespace(
        id=run_id, group="demo", state=state, url=f"https://w/{run_id}", config=config, summary=summary
    )


class FakeApi:
    def __init__(self, runs):
        self.runs_given, self.asked = runs, None

    def runs(self, project, filters):
        self.asked = (project, filters)
        return self.runs_given


def test_the_wandb_loader_gives_the_local_loaders_columns():
    api = FakeApi(
        [fake_run("a", "mse", 1, 0, 0.2), fake_run("b", "mse", 1, 1, 0.4), fake_run("c", "l1", 8, 0, 0.1)]
    )
    frame = load_wandb("me/overlapvae", group="demo", api=api)
    assert api.asked == ("me/overlapvae", {"group": "demo"})
    assert list(frame["run"]) == ["a", "b", "c"] and set(frame["status"]) == {"completed"}
    assert list(frame["dataset.grid_spacing"]) == [1, 1, 8] and list(frame["loss"]) == ["mse", "mse", "l1"]
    assert list(frame["final/mig.discrete_mig"]) == [0.2, 0.4, 0.1]
    assert list(frame["max/mig.discrete_mig"]) == pytest.approx([0.3, 0.5, 0.2])
    assert list(frame["loss/recon"]) == [0.5, 0.5, 0.5]
    table = aggregate(frame, metrics=["final/mig.discrete_mig"])
    mse = table[table["loss"] == "mse"].iloc[0]
    assert mse["final/mig.discrete_mig mean"] == pytest.approx(0.3)
    assert mse["final/mig.discrete_mig std"] == pytest.approx(math.sqrt(0.02))
    assert mse["final/mig.discrete_mig count"] == 2


def test_the_markdown_summary_gives_mean_std_and_lists_runs_that_did_not_complete():
    frame = load_wandb(
        "p",
        api=FakeApi(
            [fake_run("a", "mse", 1, 0, 0.2), fake_run("b", "mse", 1, 1, 0.4), fake_run("c", "l1", 8, 0, 0.1)]
        ),
    )
    frame = pd.concat([frame, frame.iloc[[2]].assign(run="d", status="failed", error="ValueError: boom")])
    text = markdown_summary(frame, ["final/mig.discrete_mig"])
    assert "3 of 4 runs completed." in text
    assert "| mse | 1 | 0.300 ± 0.141 (n=2) | ok | 1.000 | 0.500 |" in text
    assert "| l1 | 8 | 0.100 (n=1) | ok | 8.000 | 0.500 |" in text
    assert "| d | failed | ValueError: boom | https://w/c |" in text


def test_collapsed_runs_are_counted_marked_and_left_out_of_every_mean():
    runs = [
        fake_run("a", "mse", 1, 0, 0.2),
        fake_run("b", "mse", 1, 1, 0.4),
        fake_run("c", "mse", 1, 2, 0.01, ratio=1.001),
        fake_run("d", "l1", 1, 0, 0.02, ratio=0.98),
    ]
    frame = load_wandb("p", api=FakeApi(runs))
    assert list(frame["collapsed"]) == [False, False, True, True]
    assert list(frame["health/ratio"]) == [0.5, 0.5, 1.001, 0.98] and list(frame["recon_scale"]) == [
        1,
        1,
        1,
        8,
    ]
    table = aggregate(frame, metrics=["final/mig.discrete_mig"]).set_index("loss")
    assert table.loc["mse", "final/mig.discrete_mig mean"] == pytest.approx(0.3)  # c is left out
    assert table.loc["mse", "final/mig.discrete_mig count"] == 2 and table.loc["mse", "collapsed"] == 1
    assert table.loc["l1", "final/mig.discrete_mig count"] == 0 and table.loc["l1", "completed"] == 1
    every_run = aggregate(frame, metrics=["final/mig.discrete_mig"], leave_out_collapsed=False)
    every_run = every_run.set_index("loss")  # describes the runs themselves: collapsed ones count
    assert every_run.loc["mse", "final/mig.discrete_mig mean"] == pytest.approx(0.61 / 3)
    assert (
        every_run.loc["mse", "final/mig.discrete_mig count"] == 3 and every_run.loc["mse", "collapsed"] == 1
    )
    text = markdown_summary(frame, ["final/mig.discrete_mig"])
    assert "4 of 4 runs completed; 2 collapsed, left out of the means." in text
    assert "| mse | 0.300 ± 0.141 (n=2) | 1 of 3 collapsed | 1.000 | 0.667 |" in text
    assert "| l1 | – | 1 of 1 collapsed | 8.000 | 0.980 |" in text
    assert "| c | mse | 1.001 | https://w/c |" in text and "| d | l1 | 0.980 | https://w/d |" in text
    figure = comparison_figure(frame, "final/mig.discrete_mig")
    assert figure.get_suptitle() == "final/mig.discrete_mig: 2 runs, 2 collapsed (crosses, left out)"
    crosses = [
        c for axis in figure.axes for c in axis.collections if c.get_facecolor()[0].tolist() == [1, 0, 0, 1]
    ]
    assert sum(len(c.get_offsets()) for c in crosses) == 2


def make_run_dir(root, name, summary_text):
    write(root / name / ".hydra" / "overrides.yaml", "- loss=l1\n- seed=4\n")
    write(
        root / name / ".hydra" / "config.yaml",
        "seed: 4\npaper_steps: 57600\ntrainer:\n  max_steps: ${paper_steps}\n"
        "paths:\n  output_dir: ${hydra:runtime.output_dir}\nsweep_name: demo_${paper_steps}\n",
    )
    if summary_text is not None:
        write(root / name / "metrics.json", summary_text)


def test_the_sweep_loader_resolves_saved_settings_and_lists_every_run(tmp_path):
    make_run_dir(tmp_path, "a", json.dumps({**SUMMARY, "seed": 4, "final": {"train/recon": 0.25}}))
    make_run_dir(tmp_path, "b", None)
    make_run_dir(tmp_path, "c", "{truncated")
    frame = load_sweep(tmp_path).set_index("run")
    assert list(frame["status"]) == ["completed", "missing", "corrupt"]
    assert "no metrics.json" in frame.loc["b", "error"] and "cannot read" in frame.loc["c", "error"]
    assert set(frame["trainer.max_steps"]) == {57600} and set(frame["seed"]) == {4}
    assert set(frame["loss"]) == {"l1"} and frame.loc["a", "loss/recon"] == 0.25
    assert frame.loc["b", "sweep"] == "demo_57600"
    with pytest.raises(FileNotFoundError, match="holds no run dirs"):
        load_sweep(tmp_path / "a" / ".hydra")
