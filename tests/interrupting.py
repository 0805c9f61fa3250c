"""Callbacks that stop a training run at a chosen point, the way a process fault would."""

from __future__ import annotations

import os
import signal

import lightning as L


class SignalAtStep(L.Callback):
    """Sends this process ``signal_name`` once training has finished step ``step``."""

    def __init__(self, step: int, signal_name: str = "SIGUSR2") -> None:
        self.step = step
        self.signum = signal.Signals[signal_name]

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)


class KillAtTrainingEnd(L.Callback):
    """SIGKILLs this process at the end of training: after the final evaluation has begun, before
    the final checkpoint, the logs and ``metrics.json`` are written."""

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        os.kill(os.getpid(), signal.SIGKILL)
