"""Builds the Lightning ``Trainer`` from the ``trainer/`` config group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import Logger

from overlapvae.callbacks.acceleration import ModelAcceleration
from overlapvae.utils.validation import check_choice

MATMUL_PRECISIONS = ("highest", "high", "medium")


def make_trainer(
    memory_format: str = "contiguous",
    compile: bool = False,
    matmul_precision: str = "highest",
    callbacks: Sequence[Callback] = (),
    logger: Sequence[Logger] | bool = False,
    **trainer_kwargs: Any,
) -> L.Trainer:
    """A ``Trainer`` with the model acceleration options of the config group.

    ``memory_format`` (``contiguous`` or ``channels_last``) and ``compile`` apply to the model;
    ``matmul_precision`` sets ``torch.set_float32_matmul_precision`` (``high`` allows TF32 on
    GPUs). Every other keyword goes to ``lightning.Trainer`` unchanged.
    """
    check_choice("matmul_precision", matmul_precision, MATMUL_PRECISIONS)
    torch.set_float32_matmul_precision(matmul_precision)
    acceleration = ModelAcceleration(memory_format=memory_format, compile=compile)
    return L.Trainer(callbacks=[acceleration, *callbacks], logger=logger, **trainer_kwargs)
