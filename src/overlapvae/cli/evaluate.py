"""``overlapvae-evaluate checkpoint=<run dir or .ckpt>``: a metric preset on a trained model
(``overlapvae.experiment.jobs.evaluate``), its scores printed. Exits with status 1 when a metric failed;
its error is in ``eval_metrics.json``."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from overlapvae.experiment.hydra_setup import config_dir, register
from overlapvae.experiment.jobs.evaluate import evaluate
from overlapvae.utils.validation import reports_bad_input

register()


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="evaluate")
@reports_bad_input
def main(cfg: DictConfig) -> None:
    result = evaluate(cfg)
    for key, value in result["values"].items():
        print(f"{key:50s} {value:.4f}")
    for name, error in result["errors"].items():
        print(f"FAILED {name}: {error}")
    print(f"wrote {result['path']}")
    if result["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
