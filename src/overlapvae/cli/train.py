"""``overlapvae-train`` (or ``python -m overlapvae.cli.train``): compose ``conf/train.yaml``, train
one run per job (``overlapvae.experiment.jobs.train``) and say where its outputs are."""

from __future__ import annotations

import shlex
import sys

import hydra
from omegaconf import DictConfig

from overlapvae.experiment.hydra_setup import config_dir, quiet_lightning, register
from overlapvae.experiment.jobs.train import train
from overlapvae.experiment.launching import LauncherUnavailableError, prepare_command_line
from overlapvae.utils.validation import InvalidInputError, reports_bad_input

register()


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
@reports_bad_input
def run_train(cfg: DictConfig) -> None:
    summary = train(cfg)
    steps, seconds = summary["steps"], summary["wall_time_s"]
    if summary.get("skipped"):
        print(f"already complete ({steps} steps), skipped; outputs in {cfg.paths.output_dir}")
        return
    print(f"finished {steps} steps in {seconds:.0f} s; outputs in {cfg.paths.output_dir}")
    if summary.get("wandb"):
        directories = " ".join(shlex.quote(directory) for directory in summary["wandb"])
        print(f"wandb run saved offline; upload it with: wandb sync {directories}")


def main() -> None:
    """Check and complete the command line (``prepare_command_line``), then hand it to Hydra."""
    quiet_lightning()
    try:
        sys.argv[1:] = prepare_command_line(sys.argv[1:])
    except (LauncherUnavailableError, InvalidInputError) as error:
        sys.exit(f"error: {error}")
    run_train()


if __name__ == "__main__":
    main()
