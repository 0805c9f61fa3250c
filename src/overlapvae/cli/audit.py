"""``overlapvae-audit``: audit a data set under reconstruction losses
(``overlapvae.experiment.jobs.audit``) and print the verdicts."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from overlapvae.experiment.hydra_setup import config_dir, register
from overlapvae.experiment.jobs.audit import audit
from overlapvae.utils.validation import reports_bad_input

register()


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="audit")
@reports_bad_input
def main(cfg: DictConfig) -> None:
    result = audit(cfg)
    print("\n".join(result.verdict_lines()))
    print(f"wrote {cfg.paths.output_dir}")


if __name__ == "__main__":
    main()
