"""A scheduler's warning signal during training: finish the step, save it, then hand the signal on.

SLURM sends ``SIGUSR2`` (submitit's choice, ``hydra.launcher.signal_delay_s`` before the time
limit) to a job about to be stopped. Submitit's own handler saves the job and requeues it at
once, wherever training happens to be. ``StopOnSignal`` catches the signal first: it lets the
running step finish, stops training at the step boundary (``LastCheckpoint`` then saves that
step and ``metrics.json`` records it), and only then calls the handler that was installed
before it, which requeues the job. The requeued job finds its run dir and resumes at that step,
so no step is trained twice. Without a previous handler the process exits with 128 + signal.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import lightning as L
from lightning.pytorch.callbacks import Callback

SCHEDULER_SIGNALS = (signal.SIGUSR2,)


class StoppedBySignalError(Exception):
    """Training stopped at a step boundary because the scheduler sent ``signum``."""

    def __init__(self, signum: int, step: int) -> None:
        self.signum, self.step = signum, step
        super().__init__(f"received {signal.Signals(signum).name} at step {step}")


class StopOnSignal(Callback):
    """Records scheduler signals from ``install()`` on; raises ``StoppedBySignalError`` at the next
    batch boundary; ``hand_over()`` passes the signal to the handler installed before."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        """Catch the signals in this (main) thread; other threads cannot set handlers."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in SCHEDULER_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._record)

    def _record(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        if self.received is not None:
            raise StoppedBySignalError(self.received, trainer.global_step)

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}

    def hand_over(self) -> None:
        """Give a received signal to the handler installed before ``install()`` (submitit's
        requeue), or exit with 128 + signal when there was none."""
        if self.received is None:
            return
        signum, previous = self.received, self._previous.get(self.received, signal.SIG_DFL)
        self.restore()
        if callable(previous):
            previous(signum, None)
        raise SystemExit(128 + signum)
