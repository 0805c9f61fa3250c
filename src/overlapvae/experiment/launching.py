"""Launchers: refuse a launcher that cannot work before anything starts, and share one machine's
GPUs or cores between the jobs of a local parallel sweep.

Under ``hydra/launcher=joblib`` (``n_jobs`` defaults to one job per GPU, or per core without
GPUs) each worker process claims one slot of ``n_jobs`` (slot ``job.num mod n_jobs`` first)
through a lock file in the sweep dir, held for the worker's life. With GPUs, slot ``s`` pins the
worker to GPU ``s mod n_gpus`` through ``CUDA_VISIBLE_DEVICES`` before CUDA initialises, so every
job a worker runs uses the same GPU and no two workers share one unless ``n_jobs > n_gpus``. Each
job gets ``cores // n_jobs`` CPU threads.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import torch
from hydra.core.hydra_config import HydraConfig

from overlapvae.utils.devices import available_cores
from overlapvae.utils.validation import InvalidInputError

#: launcher option → (module its plugin provides, the extra that installs it)
LAUNCHER_PLUGINS = {
    "joblib": ("hydra_plugins.hydra_joblib_launcher", "sweeps"),
    "submitit_local": ("hydra_plugins.hydra_submitit_launcher", "sweeps"),
    "submitit_slurm": ("hydra_plugins.hydra_submitit_launcher", "sweeps"),
    "slurm": ("hydra_plugins.hydra_submitit_launcher", "sweeps"),
    "packed_slurm": ("hydra_plugins.hydra_submitit_launcher", "sweeps"),
}
SLURM_LAUNCHERS = ("slurm", "packed_slurm", "submitit_slurm")


class LauncherUnavailableError(RuntimeError):
    """The chosen launcher cannot run on this machine."""


def given_value(arguments: Sequence[str], key: str) -> str | None:
    """The value a command line gives ``key`` (``key=value``, ``+key=value``), if any; the last one
    wins, as in Hydra."""
    value = None
    for argument in arguments:
        name, _, given = argument.partition("=")
        if name.lstrip("+~") == key:
            value = given
    return value


def check_sweep_values(arguments: Sequence[str]) -> None:
    """Refuse a sweep override that lists a value twice (``loss=mse,mse``): both jobs would be the
    same run, in the same run dir. (Run dirs are also locked, so grids from configs are safe.)"""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for argument in arguments:
        if argument.startswith("-") or "=" not in argument:
            continue
        try:
            override = parser.parse_override(argument)
            values = list(override.sweep_string_iterator()) if override.is_sweep_override() else []
        except Exception:  # a malformed override or a sweep without a value list: Hydra reports it
            continue
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise InvalidInputError(
                f"{argument} lists {', '.join(repeated)} more than once: the jobs would be one run in "
                "one run dir; list each value once"
            )


def check_launcher(arguments: Sequence[str]) -> None:
    """Fail before any job starts when the launcher's plugin is missing or, for SLURM, when
    ``sbatch`` is not on the PATH (so nothing is half-submitted)."""
    launcher = given_value(arguments, "hydra/launcher")
    if launcher not in LAUNCHER_PLUGINS:
        return
    module, extra = LAUNCHER_PLUGINS[launcher]
    if importlib.util.find_spec(module) is None:
        raise LauncherUnavailableError(
            f"hydra/launcher={launcher} needs the {module.split('.')[-1]} plugin, which is not installed: "
            f"pip install 'overlapvae[{extra}]'"
        )
    if launcher in SLURM_LAUNCHERS and shutil.which("sbatch") is None:
        raise LauncherUnavailableError(
            f"hydra/launcher={launcher} submits with sbatch, which is not on the PATH: run the sweep on a "
            "SLURM login node, or use hydra/launcher=joblib (this machine) or submitit_local"
        )
    if launcher in SLURM_LAUNCHERS:
        check_partition(given_value(arguments, "hydra.launcher.partition"))


def check_partition(partition: str | None) -> None:
    """Refuse a partition the cluster does not have before anything is submitted (``sinfo``
    lists them); ``None`` or ``null`` is the cluster's default partition."""
    if partition in (None, "null"):
        return
    listing = subprocess.run(["sinfo", "-h", "-o", "%R"], capture_output=True, text=True, check=False)
    if listing.returncode != 0:
        return  # sinfo unusable here: leave the verdict to sbatch
    partitions = sorted(set(listing.stdout.split()))
    unknown = [name for name in partition.split(",") if name not in partitions]
    if unknown:
        raise LauncherUnavailableError(
            f"hydra.launcher.partition={partition}: {', '.join(unknown)} does not exist on this cluster; "
            f"sinfo lists: {', '.join(partitions) or 'no partitions'}. Nothing was submitted."
        )


def export_visible_gpus() -> list[str]:
    """In the launching process: write the GPU list into ``CUDA_VISIBLE_DEVICES`` for the workers.

    Counting GPUs starts the CUDA runtime, after which a process can no longer be pinned; the
    launcher counts them once and the workers read the list from the environment.
    """
    if "CUDA_VISIBLE_DEVICES" not in os.environ:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(torch.cuda.device_count()))
    return visible_gpus()


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` entries."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        raise RuntimeError("CUDA_VISIBLE_DEVICES is unset: the launching process calls export_visible_gpus()")
    return [entry.strip() for entry in listed.split(",") if entry.strip()]


@dataclass(frozen=True)
class JobResources:
    """What a parallel job was given: its slot, its GPU (or none) and its CPU threads."""

    slot: int
    gpu: str | None
    threads: int


_claimed: tuple[JobResources, IO[str]] | None = None  # this worker's slot, held while it lives


def claim_slot(lock_dir: Path, preferred: int, num_slots: int) -> tuple[int, IO[str]]:
    """Take the first free slot starting at ``preferred`` with a non-blocking ``flock``; the
    returned open file holds it (the lock is released when the process exits)."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    for offset in range(num_slots):
        slot = (preferred + offset) % num_slots
        handle = (lock_dir / f"slot{slot}.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return slot, handle
    raise RuntimeError(f"all {num_slots} slots in {lock_dir} are held: more workers than n_jobs")


def share_machine(job_num: int, n_jobs: int, lock_dir: Path) -> JobResources:
    """Pin this worker to its slot's GPU (once, before CUDA starts) and split the cores.

    A worker that already holds a slot keeps it for every later job. ``n_jobs`` is the
    launcher's (``-1`` = one per core).
    """
    global _claimed
    cores = available_cores()
    n_jobs = cores if n_jobs < 1 else n_jobs
    if _claimed is None:
        gpus = visible_gpus()
        slot, handle = claim_slot(lock_dir, job_num % n_jobs, n_jobs)
        gpu = gpus[slot % len(gpus)] if gpus else None
        if gpu is not None:
            if torch.cuda.is_initialized():
                raise RuntimeError("CUDA started before the job was pinned to a GPU: pinning must come first")
            os.environ["CUDA_VISIBLE_DEVICES"] = gpu
        _claimed = (JobResources(slot=slot, gpu=gpu, threads=max(1, cores // n_jobs)), handle)
    resources = _claimed[0]
    torch.set_num_threads(resources.threads)
    return resources


def claimed_resources() -> JobResources:
    """The slot, GPU and threads this worker claimed (``share_machine``)."""
    if _claimed is None:
        raise RuntimeError("this process claimed no slot: share_machine() first")
    return _claimed[0]


def share_scheduler_allocation() -> dict[str, Any] | None:
    """Under SLURM: torch threads = the job's CPUs (``SLURM_CPUS_PER_TASK``) rather than every core
    of a node that other jobs share (oversubscribed threads can slow small models tenfold)."""
    cpus = os.environ.get("SLURM_CPUS_PER_TASK")
    if cpus is None:
        return None
    torch.set_num_threads(int(cpus))
    return {"threads": int(cpus), "gpu": os.environ.get("CUDA_VISIBLE_DEVICES")}


def job_resources() -> dict[str, Any] | None:
    """Under the joblib launcher: this worker's GPU and share of the cores (before CUDA starts);
    under SLURM: the job's CPUs."""
    if not HydraConfig.initialized():
        return None
    hydra_cfg = HydraConfig.get()
    if not str(hydra_cfg.launcher.get("_target_", "")).endswith("JoblibLauncher"):
        return share_scheduler_allocation()
    lock_dir = Path(hydra_cfg.sweep.dir) / ".slots"
    return asdict(share_machine(hydra_cfg.job.num, int(hydra_cfg.launcher.n_jobs), lock_dir))


def scheduler_job() -> dict[str, Any] | None:
    """Under SLURM: the job's ids, how often it was requeued and (under submitit) its log file."""
    if "SLURM_JOB_ID" not in os.environ:
        return None
    job = {
        "job_id": os.environ["SLURM_JOB_ID"],
        "array_job_id": os.environ.get("SLURM_ARRAY_JOB_ID"),
        "array_task_id": os.environ.get("SLURM_ARRAY_TASK_ID"),
        "restart_count": int(os.environ.get("SLURM_RESTART_COUNT", 0)),
        "log": None,
    }
    if os.environ.get("SUBMITIT_EXECUTOR") == "slurm":
        import submitit

        job["log"] = str(submitit.JobEnvironment().paths.stderr)
    return job


def prepare_command_line(arguments: list[str]) -> list[str]:
    """Check a ``train`` command line before Hydra sees it (the launcher can work here, each grid
    value is listed once) and return it completed: under joblib, one job per visible GPU unless
    ``hydra.launcher.n_jobs`` is given."""
    check_launcher(arguments)
    check_sweep_values(arguments)
    if given_value(arguments, "hydra/launcher") == "joblib":
        gpus = export_visible_gpus()
        if gpus and given_value(arguments, "hydra.launcher.n_jobs") is None:
            return [*arguments, f"hydra.launcher.n_jobs={len(gpus)}"]
    return arguments
