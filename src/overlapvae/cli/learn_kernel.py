"""``overlapvae-learn-kernel``: learn a kernel for a data set (``overlapvae.experiment.jobs.learn_kernel``)
and say how to train and audit with it. Check its effect with
``overlapvae-audit losses=[mse,mse_learnt] kernel_file=<run dir>/kernel.pt``."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from overlapvae.experiment.hydra_setup import config_dir, register
from overlapvae.experiment.jobs.learn_kernel import learn_and_save_kernel
from overlapvae.utils.validation import reports_bad_input

register()


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="learn_kernel")
@reports_bad_input
def main(cfg: DictConfig) -> None:
    result, path = learn_and_save_kernel(cfg)
    print(
        f"rank correlation with ground truth on random pairs: {result.initial_rank_correlation:.3f} "
        f"(initial kernel) -> {result.final_rank_correlation:.3f} (learnt)"
    )
    print(f"kernel: {path}; train with loss=mse_learnt loss.kernel_file={path}")
    print(f"audit: overlapvae-audit losses=[mse,mse_learnt] kernel_file={path}")


if __name__ == "__main__":
    main()
