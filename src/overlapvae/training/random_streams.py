"""The global random streams a training step draws from, saved in checkpoints and restored on resume."""

from __future__ import annotations

import random
import warnings
from typing import Any

import lightning as L
import numpy as np
import torch


def _numpy_state() -> dict[str, Any]:
    """NumPy's legacy global stream as tensors and numbers (what a weights-only load accepts)."""
    _, key, pos, has_gauss, cached_gaussian = np.random.get_state()  # noqa: NPY002
    return {
        "key": torch.from_numpy(key.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached_gaussian),
    }


def capture_random_streams() -> dict[str, Any]:
    """The states of Python's, NumPy's and torch's global generators (every CUDA device's too)."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": _numpy_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_random_streams(state: dict[str, Any]) -> None:
    """Put back the states ``capture_random_streams`` returned."""
    random.setstate(state["python"])
    numpy = state["numpy"]
    key = numpy["key"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", key, numpy["pos"], numpy["has_gauss"], numpy["cached_gaussian"]))  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RandomStreams(L.Callback):
    """Saves the global random streams with every checkpoint and restores them right before the
    first training step of a resumed run.

    The data stream has its own generator (saved by the data module); what remains on the global
    streams is what the step itself draws, e.g. the reparameterisation noise. The states are taken
    when the checkpoint is written, after every other callback of that step has run, so the
    resumed run's next step draws exactly what the uninterrupted run's next step drew.
    """

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        return capture_random_streams()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any) -> None:
        if self._pending is None:
            return
        pending, self._pending = self._pending, None
        if "cuda" not in pending and torch.cuda.is_available() and torch.cuda.is_initialized():
            warnings.warn(
                "the checkpoint was saved without CUDA random states (on a CPU): the run's CUDA "
                "streams restart from its seed",
                stacklevel=2,
            )
        restore_random_streams(pending)
