"""``hydra/launcher=packed``: a multirun's training jobs trained in packs, one process per pack.

Each job is set up as Hydra sets up any job (its run dir, ``.hydra/`` files and logging), then
jobs that can share a trainer and an optimiser (``pack_compatibility_key``) and resume from the
same step are trained ``pack_size`` at a time as one pack (``overlapvae.experiment.jobs.train_pack``).
A job that cannot pack with any other is still a pack of one; the log names the settings that
keep packs apart. Jobs of another app than training, or whose trainer spans several devices, run
one after another as under ``basic``, and the log says why. Complete runs are skipped as under
every launcher. ``packs_at_once`` packs train side by side in worker processes (by default one
per GPU, one at a time without GPUs), each pinned to one GPU; several may share a GPU.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from overlapvae.experiment.hydra_state import JobContext
from overlapvae.experiment.jobs.train_pack import PackJob, pack_compatibility_key, settings_apart, train_pack
from overlapvae.experiment.launching import claimed_resources, export_visible_gpus, share_machine
from overlapvae.runs.checkpoints import read_checkpoint
from overlapvae.runs.directory import holds_complete_run
from overlapvae.utils.validation import InvalidInputError

log = logging.getLogger(__name__)


class SetUp(NamedTuple):
    """A job Hydra has set up: its return (to fill in) and its resolved config and context
    (``None`` when the set-up failed: the return says why). Not a dataclass: Hydra loads plugin
    modules outside ``sys.modules``."""

    job_return: JobReturn
    job: PackJob | None


def start_step(run_dir: Path, max_steps: int) -> int | None:
    """The step a job's run dir resumes from (0: from scratch; ``None``: complete, to skip), read
    without changing anything (an unreadable checkpoint counts as none; the job moves it aside)."""
    if holds_complete_run(run_dir, max_steps):
        return None
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    if not checkpoint.is_file():
        return 0
    try:
        return int(read_checkpoint(checkpoint)["global_step"])
    except (InvalidInputError, KeyError):
        return 0


def pack_key(cfg: DictConfig, run_dir: Path) -> tuple[str, int | None]:
    """Jobs with equal keys train in one pack: the same trainer and optimiser settings
    (``pack_compatibility_key``) and the same step to start from."""
    return pack_compatibility_key(cfg), start_step(run_dir, int(cfg.trainer.max_steps))


def why_not_packed(cfg: DictConfig) -> str | None:
    """Why a job cannot train in a pack (``None`` when it can)."""
    if "framework" not in cfg or "trainer" not in cfg:
        return "it is not a training job"
    devices = cfg.trainer.get("devices", 1)
    if str(devices) not in ("1", "[0]", "auto") or "ddp" in str(cfg.trainer.get("strategy", "")):
        return f"its trainer spans several devices (trainer.devices={devices}); a pack uses one"
    return None


def group_into_packs(keys: Sequence[Hashable], pack_size: int) -> list[list[int]]:
    """Job indices in packs of at most ``pack_size`` jobs with equal keys (``pack_key``), in
    launch order."""
    by_key: dict[Hashable, list[int]] = {}
    for index, key in enumerate(keys):
        by_key.setdefault(key, []).append(index)
    return [group[at : at + pack_size] for group in by_key.values() for at in range(0, len(group), pack_size)]


def listed(pack: Sequence[int]) -> str:
    return "#" + ", #".join(str(number) for number in pack)


def explain_packs(packs: Sequence[Sequence[int]], configs: dict[int, DictConfig]) -> None:
    """Log, for each pack after the first, the settings that keep it apart from the first."""
    for pack in packs[1:]:
        apart = settings_apart(configs[pack[0]], configs[packs[0][0]])
        if apart:
            log.info("jobs %s cannot pack with #%d: %s", listed(pack), packs[0][0], apart)


def set_up(hydra_context: HydraContext, sweep_config: DictConfig) -> SetUp:
    """Let Hydra set a job up (its run dir, ``.hydra/``, logging) and keep its config, resolved
    while Hydra's state is the job's, and its context, to train it in a pack later."""
    kept: list[PackJob] = []

    def keep(cfg: DictConfig) -> None:
        OmegaConf.resolve(cfg)
        kept.append(PackJob(cfg, JobContext.current()))

    job_return = run_job(
        hydra_context=hydra_context,
        task_function=keep,
        config=sweep_config,
        job_dir_key="hydra.sweep.dir",
        job_subdir_key="hydra.sweep.subdir",
    )
    return SetUp(job_return, kept[0] if kept else None)


def fill_in(members: Sequence[SetUp], train: Callable[[list[PackJob]], list[Any]]) -> None:
    """Train set-up jobs as one pack with ``train``, filling in their returns (a pack's failure
    fails each of its jobs, as a failed job does under ``basic``; other packs still run)."""
    training = [member for member in members if member.job is not None]
    try:
        records = train([member.job for member in training])
        status = JobStatus.COMPLETED
    except Exception as error:
        records, status = [error] * len(training), JobStatus.FAILED
    for member, record in zip(training, records, strict=True):
        member.job_return.status = status
        member.job_return.return_value = record


def train_set_up(members: Sequence[SetUp]) -> None:
    """Train set-up jobs as one pack in this process (``fill_in``)."""
    fill_in(members, train_pack)


def _pin_worker(lock_dir: Path, workers: int) -> None:
    """A worker process's start: its slot of ``workers``, its GPU and share of the cores."""
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] %(message)s")
    share_machine(os.getpid(), workers, lock_dir)


def _train_in_worker(jobs: list[tuple[str, JobContext]]) -> list[dict[str, Any]]:
    """Train a pack in a worker, its configs sent as YAML (their schema classes do not pickle)."""
    packed = [PackJob(OmegaConf.create(text), context) for text, context in jobs]
    return train_pack(packed, resources=asdict(claimed_resources()))


def train_side_by_side(packs: Sequence[Sequence[SetUp]], workers: int, lock_dir: Path) -> None:
    """Train ``packs`` in ``workers`` processes at once, each pinned to its slot's GPU (slot ``s``
    uses GPU ``s mod n_gpus``: several packs share a GPU when ``workers > n_gpus``)."""
    spawn = multiprocessing.get_context("spawn")  # a fork would inherit this process's CUDA state
    with ProcessPoolExecutor(
        workers, mp_context=spawn, initializer=_pin_worker, initargs=(lock_dir, workers)
    ) as pool:
        futures = {}
        for pack in packs:
            jobs = [(OmegaConf.to_yaml(m.job.cfg), m.job.context) for m in pack if m.job is not None]
            futures[pool.submit(_train_in_worker, jobs)] = pack
        for future in as_completed(futures):
            fill_in(futures[future], lambda _, done=future: done.result())


def check_pack_size(pack_size: int) -> int:
    if pack_size < 1:
        raise InvalidInputError(f"hydra.launcher.pack_size={pack_size} is invalid: choose an integer >= 1")
    return pack_size


class PackedLauncher(Launcher):
    """Hydra's basic launcher, with training jobs trained in packs of ``pack_size``."""

    def __init__(self, pack_size: int = 8, packs_at_once: int | None = None) -> None:
        self.pack_size = check_pack_size(pack_size)
        if packs_at_once is not None and packs_at_once < 1:
            raise InvalidInputError(
                f"hydra.launcher.packs_at_once={packs_at_once} is invalid: choose >= 1, or null (one per GPU)"
            )
        self.packs_at_once = packs_at_once
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def _sweep_config(self, overrides: Sequence[str], number: int) -> DictConfig:
        sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with open_dict(sweep_config):
            sweep_config.hydra.job.id = number
            sweep_config.hydra.job.num = number
        return sweep_config

    def _run_alone(self, sweep_config: DictConfig) -> JobReturn:
        job_return = run_job(
            hydra_context=self.hydra_context,
            task_function=self.task_function,
            config=sweep_config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return job_return

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        alone: dict[int, JobReturn] = {}
        packable: dict[int, SetUp] = {}
        for number, overrides in enumerate(job_overrides, start=initial_job_idx):
            sweep_config = self._sweep_config(overrides, number)
            reason = why_not_packed(sweep_config)
            if reason is None:
                packable[number] = set_up(self.hydra_context, sweep_config)
                continue
            shown = " ".join(filter_overrides(overrides))
            log.info("#%d %s: not packed, %s; runs alone", number, shown, reason)
            alone[number] = self._run_alone(sweep_config)
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        configs = {number: member.job.cfg for number, member in packable.items() if member.job is not None}
        keys = [pack_key(cfg, Path(cfg.paths.output_dir)) for cfg in configs.values()]
        numbers = list(configs)
        packs = [[numbers[index] for index in pack] for pack in group_into_packs(keys, self.pack_size)]
        log.info("%d training jobs in %d packs (pack_size %d)", len(numbers), len(packs), self.pack_size)
        explain_packs(packs, configs)
        for pack in packs:
            log.info("pack of %d: jobs %s", len(pack), listed(pack))
        gpus = export_visible_gpus()  # the workers' GPU list, counted once, before any worker starts
        workers = min(len(packs), self.packs_at_once or max(1, len(gpus)))
        if workers > 1:
            lock_dir = Path(str(self.config.hydra.sweep.dir)) / ".slots"
            train_side_by_side([[packable[n] for n in pack] for pack in packs], workers, lock_dir)
        else:
            for pack in packs:
                train_set_up([packable[number] for number in pack])
        returns = {**alone, **{number: member.job_return for number, member in packable.items()}}
        return [returns[number] for number in sorted(returns)]
