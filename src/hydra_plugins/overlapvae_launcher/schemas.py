"""The config schema of ``hydra/launcher=packed_slurm``: submitit's SLURM settings and ``pack_size``.

(No postponed annotations here: Hydra imports plugin modules outside ``sys.modules``, where a
dataclass cannot resolve annotations given as strings.)"""

import importlib.util
from dataclasses import dataclass

from hydra.core.config_store import ConfigStore

if importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is not None:
    from hydra_plugins.hydra_submitit_launcher.config import SlurmQueueConf

    @dataclass
    class PackedSlurmQueueConf(SlurmQueueConf):
        _target_: str = "hydra_plugins.overlapvae_launcher.slurm.PackedSlurmLauncher"
        pack_size: int = 8

    ConfigStore.instance().store(
        group="hydra/launcher", name="packed_submitit_slurm", node=PackedSlurmQueueConf
    )
