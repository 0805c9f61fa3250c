"""Builds the Lightning ``Trainer`` from the ``trainer/`` config group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import Logger

from overlapvae.training.acceleration import CompileMode, MemoryFormat, ModelAcceleration
from overlapvae.training.checkpoint import AtomicCheckpointIO
from overlapvae.utils.validation import check_choice

MatmulPrecision = Literal["highest", "high", "medium"]
MATMUL_PRECISIONS = get_args(MatmulPrecision)


def make_trainer(
    memory_format: MemoryFormat = "contiguous",
    compile: bool = False,
    compile_mode: CompileMode = "default",
    matmul_precision: MatmulPrecision = "highest",
    callbacks: Sequence[Callback] = (),
    logger: Sequence[Logger] | bool = False,
    **trainer_kwargs: Any,
) -> L.Trainer:
    """A ``Trainer`` with the model acceleration options of the config group.

    ``memory_format`` (``contiguous`` or ``channels_last``) and ``compile`` (in ``compile_mode``)
    apply to the model (a pack of runs compiles its vmapped step instead, contiguous);
    ``matmul_precision`` sets ``torch.set_float32_matmul_precision`` (``high`` allows TF32 on
    GPUs). Checkpoints are written atomically (``AtomicCheckpointIO``). Every other keyword goes to
    ``lightning.Trainer`` unchanged.
    """
    check_choice("matmul_precision", matmul_precision, MATMUL_PRECISIONS)
    torch.set_float32_matmul_precision(matmul_precision)
    acceleration = ModelAcceleration(memory_format=memory_format, compile=compile, compile_mode=compile_mode)
    plugins = [AtomicCheckpointIO(), *(trainer_kwargs.pop("plugins", None) or [])]
    return L.Trainer(callbacks=[acceleration, *callbacks], logger=logger, plugins=plugins, **trainer_kwargs)
