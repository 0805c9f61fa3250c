"""Checks of a composed ``train`` config that its types alone cannot express, run before anything
starts: each refusal names the key, the value and the valid range."""

from __future__ import annotations

import re
from typing import Any

from omegaconf import DictConfig, ListConfig

from overlapvae.utils.validation import InvalidInputError

#: ``torch`` and NumPy take seeds in [0, 2**32).
MAX_SEED = 2**32 - 1
MAX_TIME = re.compile(r"^\d+:\d{1,2}:\d{1,2}:\d{1,2}$")


def _at_least_one(key: str, value: Any, why: str = "") -> None:
    if value is None or value < 1:
        raise InvalidInputError(f"{key}={value} is invalid: choose an integer >= 1{why}")


def check_devices(devices: Any) -> None:
    """``auto``, ``-1`` (every device), a count >= 1, a list of device indices, or such a list as text."""
    if isinstance(devices, ListConfig | list | tuple):
        valid = bool(devices) and all(isinstance(d, int) and d >= 0 for d in devices)
    elif isinstance(devices, str):
        valid = devices == "auto" or re.fullmatch(r"\s*\d+\s*(,\s*\d+\s*)*,?", devices) is not None
    else:
        valid = devices == -1 or (isinstance(devices, int) and not isinstance(devices, bool) and devices >= 1)
    if not valid:
        raise InvalidInputError(
            f"trainer.devices={devices!r} is invalid: "
            "choose auto, -1 (all), a count >= 1 or a list of device indices"
        )


def check_train_config(cfg: DictConfig) -> None:
    """Refuse values no run can use: a seed outside [0, 2**32), an unbounded or empty training
    length (runs are compared at equal step budgets), and trainer settings out of range."""
    if not 0 <= cfg.seed <= MAX_SEED:
        raise InvalidInputError(f"seed={cfg.seed} is invalid: choose an integer in [0, {MAX_SEED}]")
    trainer = cfg.trainer
    why = " (a run trains for a fixed number of steps; -1 is not offered)"
    _at_least_one("trainer.max_steps", trainer.max_steps, why)
    _at_least_one("trainer.accumulate_grad_batches", trainer.accumulate_grad_batches)
    if trainer.log_every_n_steps is not None:
        _at_least_one("trainer.log_every_n_steps", trainer.log_every_n_steps)
    if trainer.max_time is not None and not MAX_TIME.match(trainer.max_time):
        raise InvalidInputError(f"trainer.max_time={trainer.max_time!r} is invalid: write it as DD:HH:MM:SS")
    check_devices(trainer.devices)
