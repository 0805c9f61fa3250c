"""Memory format and compilation of the model, chosen per trainer config (see ``benchmarks/``)."""

from __future__ import annotations

from typing import Literal, get_args

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from overlapvae.utils.validation import check_choice

MemoryFormat = Literal["contiguous", "channels_last"]
MEMORY_FORMATS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}
#: ``torch.compile`` modes: ``reduce-overhead`` replays the step's kernels as CUDA graphs.
CompileMode = Literal["default", "reduce-overhead", "max-autotune"]
COMPILE_MODES = get_args(CompileMode)


class ModelAcceleration(Callback):
    """Puts the framework's weights and input batches in ``memory_format`` and optionally
    ``torch.compile``s its model.

    The encoder's and decoder's ``forward`` are compiled in place (in ``compile_mode``), so
    checkpoints keep their plain parameter names. (``nn.Module.compile`` is not used: it leaves
    these modules eager here.)
    """

    def __init__(
        self,
        memory_format: MemoryFormat = "contiguous",
        compile: bool = False,
        compile_mode: CompileMode = "default",
    ) -> None:
        check_choice("memory_format", memory_format, MEMORY_FORMATS)
        check_choice("compile_mode", compile_mode, COMPILE_MODES)
        self.memory_format = memory_format
        self.compile = compile
        self.compile_mode = compile_mode

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        pl_module.use_memory_format(MEMORY_FORMATS[self.memory_format])
        if self.compile:
            for module in (pl_module.model.encoder, pl_module.model.decoder):
                module.forward = torch.compile(module.forward, mode=self.compile_mode)
