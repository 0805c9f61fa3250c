"""``hydra/launcher=slurm``: submitit's SLURM launcher, submitting only the jobs whose run dir is not
complete, so a relaunched sweep queues just what is left. Each job's run dir is found as the job
itself finds it (``hydra.sweep.dir`` / ``hydra.sweep.subdir``, a run key of its overrides and seed:
``overlapvae.runs``) and is complete when its ``metrics.json`` says so for its ``trainer.max_steps``.
Nothing in a run dir is changed here: an unreadable summary means the job is submitted, and the job
moves the file aside."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, setup_globals
from omegaconf import DictConfig, open_dict

from hydra_plugins.overlapvae_launcher.packed import (
    check_pack_size,
    explain_packs,
    group_into_packs,
    pack_key,
    set_up,
    train_set_up,
)
from overlapvae.runs.directory import holds_complete_run

log = logging.getLogger(__name__)

# Hydra imports every plugin module at start-up; without the sweeps extra this one defines nothing.
if importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is not None:
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher

    class CompleteRunsSkippingSlurmLauncher(SlurmLauncher):
        """submitit's ``SlurmLauncher`` that leaves complete runs out of the job array."""

        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
            pending = [overrides for _, overrides in self.pending(job_overrides, initial_job_idx)]
            return super().launch(pending, initial_job_idx) if pending else []

        def pending(
            self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
        ) -> list[tuple[int, Sequence[str]]]:
            """The jobs whose run dir is not complete, with their numbers."""
            pending = []
            for number, overrides in enumerate(job_overrides, start=initial_job_idx):
                run_dir, max_steps = self.run_dir_and_length(overrides)
                if holds_complete_run(run_dir, max_steps):
                    log.info("%s is complete (%d steps): not submitted", run_dir, max_steps)
                else:
                    pending.append((number, overrides))
            skipped = len(job_overrides) - len(pending)
            if skipped:
                log.info(
                    "%d of %d jobs are complete and left out; submitting %d",
                    skipped,
                    len(job_overrides),
                    len(pending),
                )
            return pending

        def run_dir_and_length(self, overrides: Sequence[str]) -> tuple[Path, int]:
            """The job's run dir and ``trainer.max_steps``, from its sweep config as the job resolves it."""
            config, run_dir = self.config_and_run_dir(overrides)
            return run_dir, int(config.trainer.max_steps)

        def config_and_run_dir(self, overrides: Sequence[str]) -> tuple[DictConfig, Path]:
            """The job's sweep config and its run dir, as the job resolves it."""
            config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            hydra_config = HydraConfig.instance()
            launching = hydra_config.cfg
            hydra_config.set_config(config)  # the run key reads ${hydra:job.override_dirname}
            try:
                return config, Path(str(config.hydra.sweep.dir)) / str(config.hydra.sweep.subdir)
            finally:
                hydra_config.cfg = launching

    class PackedSlurmLauncher(CompleteRunsSkippingSlurmLauncher):
        """``hydra/launcher=packed_slurm``: the jobs left to run, grouped as under
        ``hydra/launcher=packed``, one array task per pack; a requeued task resumes its pack."""

        def __init__(self, pack_size: int = 8, **params: Any) -> None:
            self.pack_size = check_pack_size(pack_size)
            self.pack_of: dict[int, list[tuple[int, Sequence[str]]]] = {}
            super().__init__(**params)

        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
            pending = self.pending(job_overrides, initial_job_idx)
            configs = {number: self.config_and_run_dir(overrides) for number, overrides in pending}
            keys = [pack_key(config, run_dir) for config, run_dir in configs.values()]
            packs = [[pending[index] for index in pack] for pack in group_into_packs(keys, self.pack_size)]
            log.info(
                "%d jobs in %d packs (pack_size %d), one array task each",
                len(pending),
                len(packs),
                self.pack_size,
            )
            explain_packs(
                [[number for number, _ in pack] for pack in packs], {n: c for n, (c, _) in configs.items()}
            )
            # each array task is handed its pack's first job; this launcher, sent with it, holds the rest
            self.pack_of = {initial_job_idx + index: pack for index, pack in enumerate(packs)}
            firsts = [pack[0][1] for pack in packs]
            tasks = SlurmLauncher.launch(self, firsts, initial_job_idx) if packs else []
            return [job_return for task in tasks for job_return in task]

        def __call__(
            self,
            sweep_overrides: list[str],
            job_dir_key: str,
            job_num: int,
            job_id: str,
            singleton_state: dict[type, Singleton],
        ) -> list[JobReturn]:
            """In the array task: set every job of the pack up, then train them as one pack."""
            import submitit

            Singleton.set_state(singleton_state)
            setup_globals()
            members = []
            for number, overrides in self.pack_of[job_num]:
                sweep_config = self.hydra_context.config_loader.load_sweep_config(
                    self.config, list(overrides)
                )
                with open_dict(sweep_config.hydra.job) as job:
                    job.id = submitit.JobEnvironment().job_id
                    job.num = number
                members.append(set_up(self.hydra_context, sweep_config))
            train_set_up(members)
            return [member.job_return for member in members]
