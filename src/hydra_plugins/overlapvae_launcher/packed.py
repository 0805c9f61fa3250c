"""``hydra/launcher=packed``: a multirun's training jobs trained in packs, one process per pack.

Each job is set up as Hydra sets up any job (its run dir, ``.hydra/`` files and logging), then
jobs that can share a trainer and an optimiser (``pack_compatibility_key``) and resume from the
same step are trained ``pack_size`` at a time as one pack (``overlapvae.experiment.jobs.train_pack``).
A job that cannot pack with any other is still a pack of one; jobs of another app than training,
or whose trainer spans several devices, run one after another as under ``basic``, and the log
says why. Complete runs are skipped as under every launcher. Packs run one after another in this
process, on the device their trainer config names.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from overlapvae.experiment.hydra_state import JobContext
from overlapvae.experiment.jobs.train_pack import PackJob, pack_compatibility_key, settings_apart, train_pack
from overlapvae.runs.checkpoints import read_checkpoint
from overlapvae.runs.directory import holds_complete_run
from overlapvae.utils.validation import InvalidInputError

log = logging.getLogger(__name__)


class _SetUp(NamedTuple):
    """A job Hydra has set up: its return (to fill in), its resolved config and its context.
    (Not a dataclass: Hydra loads plugin modules outside ``sys.modules``.)"""

    job_return: JobReturn
    job: PackJob


def start_step(cfg: DictConfig) -> int | None:
    """The step a job's run dir resumes from (0: from scratch; ``None``: complete, to skip), read
    without changing anything (an unreadable checkpoint counts as none; the job moves it aside)."""
    run_dir = Path(cfg.paths.output_dir)
    if holds_complete_run(run_dir, int(cfg.trainer.max_steps)):
        return None
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    if not checkpoint.is_file():
        return 0
    try:
        return int(read_checkpoint(checkpoint)["global_step"])
    except (InvalidInputError, KeyError):
        return 0


def why_not_packed(cfg: DictConfig) -> str | None:
    """Why a job cannot train in a pack (``None`` when it can)."""
    if "framework" not in cfg or "trainer" not in cfg:
        return "it is not a training job"
    devices = cfg.trainer.get("devices", 1)
    if str(devices) not in ("1", "[0]", "auto") or "ddp" in str(cfg.trainer.get("strategy", "")):
        return f"its trainer spans several devices (trainer.devices={devices}); a pack uses one"
    return None


def group_into_packs(jobs: Sequence[PackJob], pack_size: int) -> list[list[int]]:
    """Job indices in packs of at most ``pack_size``: jobs with one compatibility key and start step,
    in launch order."""
    by_key: dict[tuple[str, int | None], list[int]] = {}
    for index, job in enumerate(jobs):
        by_key.setdefault((pack_compatibility_key(job.cfg), start_step(job.cfg)), []).append(index)
    return [
        members[at : at + pack_size]
        for members in by_key.values()
        for at in range(0, len(members), pack_size)
    ]


def _listed(numbers: list[int], pack: list[int]) -> str:
    return ", #".join(str(numbers[index]) for index in pack)


class PackedLauncher(Launcher):
    """Hydra's basic launcher, with training jobs trained in packs of ``pack_size``."""

    def __init__(self, pack_size: int = 8) -> None:
        if pack_size < 1:
            raise InvalidInputError(
                f"hydra.launcher.pack_size={pack_size} is invalid: choose an integer >= 1"
            )
        self.pack_size = pack_size
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

    def _run_alone(self, overrides: Sequence[str], number: int) -> JobReturn:
        job_return = run_job(
            hydra_context=self.hydra_context,
            task_function=self.task_function,
            config=self._sweep_config(overrides, number),
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return job_return

    def _set_up(self, overrides: Sequence[str], number: int) -> _SetUp:
        """Let Hydra set the job up (run dir, ``.hydra/``) and keep its config, resolved while
        Hydra's state is the job's, and its context."""
        kept: list[PackJob] = []

        def keep(cfg: DictConfig) -> None:
            OmegaConf.resolve(cfg)
            kept.append(PackJob(cfg, JobContext.current()))

        job_return = run_job(
            hydra_context=self.hydra_context,
            task_function=keep,
            config=self._sweep_config(overrides, number),
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
        return _SetUp(job_return, kept[0])

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        returns: dict[int, JobReturn] = {}
        packable: dict[int, _SetUp] = {}
        for number, overrides in enumerate(job_overrides, start=initial_job_idx):
            probe = self._sweep_config(overrides, number)
            reason = why_not_packed(probe)
            if reason is not None:
                log.info(
                    "#%d %s: not packed, %s; runs alone",
                    number,
                    " ".join(filter_overrides(overrides)),
                    reason,
                )
                returns[number] = self._run_alone(overrides, number)
            else:
                packable[number] = self._set_up(overrides, number)
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        numbers = list(packable)
        packs = group_into_packs([packable[number].job for number in numbers], self.pack_size)
        log.info("%d training jobs in %d packs (pack_size %d)", len(numbers), len(packs), self.pack_size)
        first = packable[numbers[packs[0][0]]].job.cfg if packs else None
        for pack in packs[1:]:
            apart = settings_apart(packable[numbers[pack[0]]].job.cfg, first)
            if apart:
                log.info(
                    "jobs #%s cannot pack with #%d: %s", _listed(numbers, pack), numbers[packs[0][0]], apart
                )
        for pack in packs:
            self._train(numbers, pack, packable)
        return [
            returns.get(number) or packable[number].job_return for number in sorted({*returns, *packable})
        ]

    def _train(self, numbers: list[int], pack: list[int], packable: dict[int, _SetUp]) -> None:
        """Train one pack, filling in its jobs' returns (a pack's failure fails each of its jobs,
        as a failed job does under ``basic``; the other packs still run)."""
        members = [packable[numbers[index]] for index in pack]
        log.info("pack of %d: jobs #%s", len(members), _listed(numbers, pack))
        try:
            records: list[Any] = train_pack([member.job for member in members])
            status = JobStatus.COMPLETED
        except Exception as error:
            records, status = [error] * len(members), JobStatus.FAILED
        for member, record in zip(members, records, strict=True):
            member.job_return.status = status
            member.job_return.return_value = record
