"""The cluster path for real: sweeps submitted with ``hydra/launcher=slurm`` to the one-node SLURM
cluster the tests start (``slurm_cluster``), pre-emption and time-limit requeues resumed from
``last.ckpt``, a failing job in an array, and the launcher's refusals."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra

from conftest import console_script, entry_point
from slurm_cluster import PARTITION

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

#: Test scale: the fc model, 20 steps, the test metrics, no image callbacks.
SMALL = (
    "scale=test",
    "model=fc",
    "model.hidden_sizes=[32]",
    "model.latent_size=4",
    "metrics@evaluation.periodic=none",
    "metrics@evaluation.final=test",
    "~callbacks.progress_bar",
    "~callbacks.images",
    "~callbacks.distances",
    "+trainer.enable_progress_bar=false",
)
TINY = (*SMALL, "logger=csv")
ONE_CPU = ("hydra.launcher.gpus_per_task=null", "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1")
ON_THE_CLUSTER = (
    "hydra/launcher=slurm",
    f"hydra.launcher.partition={PARTITION}",
    "hydra.launcher.gpus_per_task=null",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=1",
)


@pytest.fixture
def cluster(slurm_cluster):
    """The session's cluster, its queue emptied after each test (a failed test leaves no jobs)."""
    yield slurm_cluster
    jobs = slurm_cluster.run("squeue", "-h", "-o", "%A", check=False).stdout.split()
    if jobs:
        slurm_cluster.run("scancel", *sorted(set(jobs)), check=False)
        wait_for(lambda: not slurm_cluster.run("squeue", "-h").stdout.strip(), what="an empty queue")


def sweep_command(*overrides: str) -> list[str]:
    return [entry_point("overlapvae-train"), "-m", *TINY, *ON_THE_CLUSTER, *overrides]


def environment(cluster, root: Path) -> dict[str, str]:
    return {
        **cluster.environment,
        "OVERLAPVAE_ROOT": str(root),
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
    }


def submit(cluster, root: Path, *overrides: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        sweep_command(*overrides),
        env=environment(cluster, root),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def summaries_by_run(sweep_dir: Path) -> dict[str, dict]:
    """Every run's ``metrics.json`` under ``sweep_dir``, by run dir name, in name order."""
    return {
        path.parent.name: json.loads(path.read_text()) for path in sorted(sweep_dir.glob("*/metrics.json"))
    }


def summaries(sweep_dir: Path) -> list[dict]:
    return list(summaries_by_run(sweep_dir).values())


def start_sweep(cluster, root: Path, *overrides: str) -> subprocess.Popen:
    """Submit a sweep and return at once (the submitting process waits for its jobs)."""
    return subprocess.Popen(
        sweep_command(*overrides),
        env=environment(cluster, root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(condition, timeout: float = 120, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def read_summary(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def interrupted_summary(sweep_dir: Path, timeout: float = 120) -> dict:
    """The ``metrics.json`` of a one-job sweep's run once it says ``interrupted``."""

    def interrupted() -> dict | None:
        summary = next((read_summary(path) for path in sweep_dir.glob("*/metrics.json")), None)
        return summary if summary and summary["status"] == "interrupted" else None

    return wait_for(interrupted, timeout=timeout, what="the interrupted run's metrics.json")


def the_job(cluster) -> str:
    """The id of the one job in the queue (``<array>_<task>``)."""
    return wait_for(lambda: cluster.run("squeue", "-h", "-o", "%i").stdout.strip(), what="a job in the queue")


def job_state(cluster, job: str) -> str:
    return cluster.run("squeue", "-h", "-j", job, "-o", "%T", check=False).stdout.strip()


#: The README's cluster workflow ("On a SLURM cluster"), command by command; ``<partition>`` is
#: the test cluster's, and the sweep runs at test scale (``TEST_SIZE``: the sizes above, one CPU per
#: job, and of the 54 jobs the 6 of one framework and one seed).
README_PREPARE = "overlapvae-prepare -m dataset=dsprites,shapes3d"
README_SUBMIT = (
    "overlapvae-train -m experiment=overlap_vs_loss sweep_name=cluster_sweep hydra/launcher=slurm "
    "hydra.launcher.partition=<partition>"
)
README_WATCH = "squeue --me"
README_LIST_UPLOADS = "wandb sync --dry-run logs/train/sweeps/cluster_sweep/*/wandb/offline-run-*"
README_COLLECT = "overlapvae-collect logs/train/sweeps/cluster_sweep"
TEST_SIZE = shlex.join((*SMALL, *ONE_CPU, "framework=betavae_overlap", "seed=0"))


def shell(cluster, root: Path, command: str, **popen) -> subprocess.Popen:
    """``command`` as a user types it, in ``root`` (the working folder), with the venv's entry points."""
    path = f"{Path(entry_point('overlapvae-train')).parent}:{cluster.environment['PATH']}"
    return subprocess.Popen(
        ["bash", "-c", command],
        cwd=root,
        env={**environment(cluster, root), "PATH": path},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def finished(process: subprocess.Popen, timeout: float = 300) -> tuple[str, str]:
    """The stdout and stderr of a command that must succeed."""
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr[-3000:]
    return stdout, stderr


def test_the_readme_cluster_workflow_prepares_submits_one_array_fills_gaps_and_collects(
    cluster, tiny_benchmarks, tmp_path, monkeypatch
):
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    commands = (README_PREPARE, README_SUBMIT, README_WATCH, README_LIST_UPLOADS, README_COLLECT)
    assert all(command in readme for command in commands), "the README's cluster workflow changed"
    # 1. prepare on the login node: the README's command line, the registry pointing at local files
    for name in ("dsprites", "shapes3d"):
        tiny_benchmarks.add(name)
    monkeypatch.setenv("OVERLAPVAE_DATA_DIR", str(tiny_benchmarks.data_dir))
    monkeypatch.setenv("OVERLAPVAE_ROOT", str(tmp_path))
    monkeypatch.setattr(sys, "argv", README_PREPARE.split())
    console_script("overlapvae-prepare")()
    GlobalHydra.instance().clear()
    assert sorted(path.name for path in tiny_benchmarks.data_dir.glob("*/*.npy")) == [
        "dsprites.npy",
        "shapes3d.npy",
    ]
    # 2. submit; 3. watch the queue while the array runs
    submit_line = README_SUBMIT.replace("<partition>", PARTITION) + " " + TEST_SIZE
    sweep = shell(cluster, tmp_path, submit_line)

    def listed_jobs() -> list[str]:
        return finished(shell(cluster, tmp_path, README_WATCH), timeout=60)[0].splitlines()[1:]

    queue = wait_for(listed_jobs, what="the array in squeue --me")
    assert all(line.split()[0].split("_")[0].isdigit() for line in queue)  # <array>_<task> or <array>_[...]
    report, _ = finished(sweep)
    sweep_dir = tmp_path / "logs" / "train" / "sweeps" / "cluster_sweep"
    runs = summaries_by_run(sweep_dir)
    assert len(runs) == 6 and all(
        run["status"] == "completed" and run["steps"] == 20 for run in runs.values()
    )
    assert len({run["scheduler"]["array_job_id"] for run in runs.values()}) == 1  # one array
    assert sorted(int(run["scheduler"]["array_task_id"]) for run in runs.values()) == list(range(6))
    assert all(Path(run["scheduler"]["log"]).is_file() for run in runs.values())
    assert "6 runs, 6 completed" in report
    # 4. a gap (one run dir lost) is filled by the same command, which submits only that job
    gap = sorted(runs)[0]
    shutil.rmtree(sweep_dir / gap)
    stdout, stderr = finished(shell(cluster, tmp_path, submit_line))
    assert "5 of 6 jobs are complete and left out; submitting 1" in stdout + stderr
    refilled = summaries_by_run(sweep_dir)
    assert sorted(refilled) == sorted(runs) and refilled[gap]["status"] == "completed"
    assert refilled[gap]["scheduler"]["job_id"] != runs[gap]["scheduler"]["job_id"]  # trained again
    assert all(refilled[name] == runs[name] for name in runs if name != gap)  # not submitted, untouched
    assert "6 runs, 6 completed" in stdout
    # the sweep complete, the same command submits nothing
    stdout, stderr = finished(shell(cluster, tmp_path, submit_line), timeout=120)
    assert "6 of 6 jobs are complete and left out; submitting 0" in stdout + stderr
    assert summaries_by_run(sweep_dir) == refilled and "6 runs, 6 completed" in stdout
    # 5. the offline wandb runs, one per job, ready to upload; the collected table
    stdout, stderr = finished(shell(cluster, tmp_path, README_LIST_UPLOADS), timeout=120)
    assert "Would sync 6 run(s)" in stdout + stderr
    finished(shell(cluster, tmp_path, README_COLLECT))
    assert len((sweep_dir / "results.csv").read_text().splitlines()) == 7  # a header and six runs


def release_requeued(cluster, job: str, *settings: str) -> None:
    """Start a requeued job now rather than after SLURM's requeue delay, once its last run has left
    the node (the node idle, then 2 s: a job started in the second its old credential was revoked
    is killed as "non-startable")."""
    wait_for(
        lambda: cluster.run("sinfo", "-h", "-N", "-o", "%T").stdout.strip() == "idle",
        what="the node free of the job's last run",
    )
    time.sleep(2)
    cluster.run("scontrol", "update", f"jobid={job}", *settings, "StartTime=now")


def preempted_run(
    cluster, root: Path, sweep_name: str, max_steps: int, every: int, tamper=None
) -> tuple[dict, dict, Path]:
    """A one-job sweep pre-empted (``scontrol requeue``: SIGTERM, back in the queue) once its first
    checkpoint exists; ``tamper(checkpoint)`` runs while the job waits, then it is released and run
    to its end. Returns the interrupted run's summary, the final one and the checkpoint's path."""
    overrides = (
        f"trainer.max_steps={max_steps}",
        f"callbacks.last_checkpoint.every_n_train_steps={every}",
        f"sweep_name={sweep_name}",
    )
    process = start_sweep(cluster, root, *overrides)
    sweep_dir = root / "logs" / "train" / "sweeps" / sweep_name
    checkpoint = wait_for(
        lambda: next(sweep_dir.glob("*/checkpoints/last.ckpt"), None), what="the first checkpoint"
    )
    job = the_job(cluster)
    cluster.run("scontrol", "requeue", job)
    first = interrupted_summary(sweep_dir)
    wait_for(lambda: job_state(cluster, job) == "PENDING", what="the job back in the queue")
    if tamper is not None:
        tamper(checkpoint)
    release_requeued(cluster, job)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr.decode()[-3000:]
    (final,) = summaries(sweep_dir)  # exactly one metrics.json
    return first, final, checkpoint


def test_a_requeued_job_resumes_at_its_saved_step(cluster, tmp_path):
    # pre-empted within a second of its first checkpoint (step 100), a few hundred steps at most
    first, final, checkpoint = preempted_run(cluster, tmp_path, "requeue", max_steps=1200, every=100)
    assert final["status"] == "completed" and final["steps"] == 1200
    assert 0 < first["steps"] == final["resumed_at_step"] < 1200  # resumed at the saved step
    assert final["resumed_from"] == "checkpoints/last.ckpt" and final["scheduler"]["restart_count"] == 1
    assert torch.load(checkpoint, weights_only=False)["global_step"] == 1200


#: The time-limit job: a one-minute limit, the warning 10 s before it. SLURM checks limits every 30 s
#: and sends the warning at the first check at most 30 s before it is due, so it arrives 20-50 s
#: after the job starts, after training has begun (about 10 s of start-up). 1,300 steps are about
#: 70 s of training at batch 256 on one idle core of the 2-core test machine: the run is always cut
#: short, and has 30-60 s of training left after the requeue.
TIME_LIMIT_STEPS = 1300
WARNING_S = 10


def test_a_job_at_its_time_limit_is_signalled_saves_is_requeued_and_resumes(cluster, tmp_path):
    overrides = (
        f"trainer.max_steps={TIME_LIMIT_STEPS}",
        "datamodule.batch_size=256",
        "callbacks.last_checkpoint.every_n_train_steps=100000",  # only the signal saves a checkpoint
        "hydra.launcher.timeout_min=1",
        f"hydra.launcher.signal_delay_s={WARNING_S}",  # SIGUSR2 before the one-minute limit
        "sweep_name=time_limit",
    )
    process = start_sweep(cluster, tmp_path, *overrides)
    sweep_dir = tmp_path / "logs" / "train" / "sweeps" / "time_limit"
    job = the_job(cluster)
    first = interrupted_summary(sweep_dir, timeout=180)
    assert first["error"].startswith(f"received SIGUSR2 at step {first['steps']}: checkpoint saved")
    run_dir = next(sweep_dir.glob("*/metrics.json")).parent
    saved = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)["global_step"]
    assert saved == first["steps"] > 0
    wait_for(lambda: job_state(cluster, job) == "PENDING", what="submitit's requeue")
    release_requeued(cluster, job, "TimeLimit=10")  # room to finish
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr.decode()[-3000:]
    (final,) = summaries(sweep_dir)
    assert final["status"] == "completed" and final["steps"] == TIME_LIMIT_STEPS
    assert final["resumed_at_step"] == first["steps"] and final["scheduler"]["restart_count"] == 1


def test_a_failing_job_leaves_the_others_and_is_reported_with_its_log(cluster, tmp_path):
    done = submit(cluster, tmp_path, "dataset.grid_spacing=8,0,4", "sweep_name=one_fails")
    assert done.returncode != 0
    runs = summaries(tmp_path / "logs" / "train" / "sweeps" / "one_fails")
    statuses = sorted(run["status"] for run in runs)
    assert statuses == ["completed", "completed", "failed"]
    (failed,) = [run for run in runs if run["status"] == "failed"]
    assert "grid_spacing=0 is invalid" in failed["error"]
    report = done.stdout
    assert "3 runs, 2 completed, 1 failed" in report
    assert (
        f"and the job's log {failed['scheduler']['log']}" in report and "grid_spacing=0 is invalid" in report
    )


def test_a_partition_that_does_not_exist_is_refused_before_anything_is_submitted(cluster, tmp_path):
    done = submit(cluster, tmp_path, "hydra.launcher.partition=nosuchpartition")
    assert done.returncode != 0
    assert "hydra.launcher.partition=nosuchpartition: nosuchpartition does not exist" in done.stderr
    assert f"sinfo lists: {PARTITION}" in done.stderr
    assert cluster.run("squeue", "-h").stdout.strip() == "" and not (tmp_path / "logs").exists()


def test_a_requeued_job_with_a_corrupt_checkpoint_starts_afresh(cluster, tmp_path):
    def corrupt(checkpoint: Path) -> None:
        checkpoint.write_bytes(b"not a checkpoint")

    _, final, checkpoint = preempted_run(
        cluster, tmp_path, "corrupt", max_steps=600, every=50, tamper=corrupt
    )
    assert final["status"] == "completed" and final["steps"] == 600
    assert final["resumed_from"] is None and final["resumed_at_step"] == 0  # started afresh
    assert len(list(checkpoint.parent.glob("last.ckpt.corrupt-*"))) == 1
    job_output = Path(final["scheduler"]["log"]).with_suffix(".out").read_text()  # the job's log lines
    assert "last.ckpt is unusable" in job_output and "the run starts again" in job_output


def test_a_packed_sweep_trains_each_pack_as_one_array_task(cluster, tmp_path):
    packed = ("hydra/launcher=packed_slurm", *ON_THE_CLUSTER[1:], "hydra.launcher.pack_size=2")
    command = [entry_point("overlapvae-train"), "-m", *TINY, *packed, "seed=0,1,2", "sweep_name=packed"]
    done = subprocess.run(
        command, env=environment(cluster, tmp_path), capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "3 jobs in 2 packs (pack_size 2), one array task each" in done.stdout + done.stderr
    runs = summaries(tmp_path / "logs" / "train" / "sweeps" / "packed")
    assert len(runs) == 3 and all(run["status"] == "completed" and run["steps"] == 20 for run in runs)
    tasks = {(run["scheduler"]["array_job_id"], run["scheduler"]["array_task_id"]) for run in runs}
    assert len(tasks) == 2 and len({job for job, _ in tasks}) == 1  # one array of two tasks
    assert sorted(run["resources"]["pack"]["size"] for run in runs) == [1, 2, 2]
    assert "3 runs, 3 completed" in done.stdout
