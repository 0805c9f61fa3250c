"""Scheduler signals: recorded, training stopped at a step boundary, then handed to the handler
that was installed before (submitit's requeue), or the process exits with 128 + signal."""

from __future__ import annotations

import os
import signal

import pytest

from overlapvae.training.preemption import StopOnSignal, StoppedBySignalError


class Trainer:
    global_step = 7


def test_a_signal_is_recorded_raised_at_the_batch_end_and_handed_to_the_previous_handler():
    received = []
    original = signal.signal(signal.SIGUSR2, lambda signum, frame: received.append(signum))
    try:
        stop = StopOnSignal()
        stop.install()
        stop.on_train_batch_end(Trainer())  # nothing received yet: training goes on
        os.kill(os.getpid(), signal.SIGUSR2)
        assert stop.received == signal.SIGUSR2 and received == []  # caught, not yet passed on
        with pytest.raises(StoppedBySignalError, match="received SIGUSR2 at step 7") as raised:
            stop.on_train_batch_end(Trainer())
        assert raised.value.step == 7
        with pytest.raises(SystemExit) as exited:
            stop.hand_over()
        assert received == [signal.SIGUSR2] and exited.value.code == 128 + signal.SIGUSR2
        assert signal.getsignal(signal.SIGUSR2) is not stop._record  # the previous handler is back
    finally:
        signal.signal(signal.SIGUSR2, original)


def test_without_a_signal_hand_over_does_nothing_and_restore_puts_handlers_back():
    before = signal.getsignal(signal.SIGUSR2)
    stop = StopOnSignal()
    stop.install()
    assert signal.getsignal(signal.SIGUSR2) == stop._record
    stop.hand_over()
    stop.restore()
    assert signal.getsignal(signal.SIGUSR2) == before
