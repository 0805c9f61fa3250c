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

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn

from overlapvae.runs.directory import holds_complete_run

log = logging.getLogger(__name__)

# Hydra imports every plugin module at start-up; without the sweeps extra this one defines nothing.
if importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is not None:
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher

    class CompleteRunsSkippingSlurmLauncher(SlurmLauncher):
        """submitit's ``SlurmLauncher`` that leaves complete runs out of the job array."""

        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
            pending = []
            for overrides in job_overrides:
                run_dir, max_steps = self.run_dir_and_length(overrides)
                if holds_complete_run(run_dir, max_steps):
                    log.info("%s is complete (%d steps): not submitted", run_dir, max_steps)
                else:
                    pending.append(overrides)
            skipped = len(job_overrides) - len(pending)
            if skipped:
                log.info(
                    "%d of %d jobs are complete and left out; submitting %d",
                    skipped,
                    len(job_overrides),
                    len(pending),
                )
            return super().launch(pending, initial_job_idx) if pending else []

        def run_dir_and_length(self, overrides: Sequence[str]) -> tuple[Path, int]:
            """The job's run dir and ``trainer.max_steps``, from its sweep config as the job resolves it."""
            config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            hydra_config = HydraConfig.instance()
            launching = hydra_config.cfg
            hydra_config.set_config(config)  # the run key reads ${hydra:job.override_dirname}
            try:
                run_dir = Path(str(config.hydra.sweep.dir)) / str(config.hydra.sweep.subdir)
                return run_dir, int(config.trainer.max_steps)
            finally:
                hydra_config.cfg = launching
