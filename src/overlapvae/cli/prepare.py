"""``overlapvae-prepare``: download, verify and convert a data set so that training finds it ready.

The converted array is memory-mapped here rather than loaded, so preparing dSprites or MPI3D needs
little memory. Procedural data sets (XYSquares, XYObject) have nothing to prepare.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from overlapvae.experiment.build import make
from overlapvae.experiment.hydra_setup import config_dir, register
from overlapvae.utils.validation import reports_bad_input

register()


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="prepare")
@reports_bad_input
def main(cfg: DictConfig) -> None:
    if "storage" not in cfg.dataset:
        print(f"{cfg.dataset._target_.rsplit('.', 1)[-1]} is generated on the fly: nothing to prepare")
        return
    data = make(cfg.dataset, storage="mmap")
    sizes = zip(data.factor_names, data.factor_sizes, strict=True)
    factors = ", ".join(f"{name} {size}" for name, size in sizes)
    print(f"ready: {data.num_observations:,} images of shape {data.image_shape} ({factors})")
    print(f"mean {data.mean}, std {data.std}")


if __name__ == "__main__":
    main()
