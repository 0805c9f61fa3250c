"""The Lightning data module: batches are sampled and rendered on the training device.

The loader only counts steps (plain Python ints, so nothing crosses to the device); after the
"transfer", ``on_after_batch_transfer`` draws a batch of factors from a seeded generator that
lives on the training device and renders it there. No workers, no host copies, no syncs. Both the
generator and the loader's place in its epoch are saved in checkpoints, so a run resumed mid-epoch
continues exactly as if it had never stopped.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import Any

import lightning as L
import torch
from torch import Tensor

from overlapvae.data.base import GroundTruthData
from overlapvae.data.pairs import check_pair_mode, sample_pairs
from overlapvae.utils.seeding import derive_seed
from overlapvae.utils.validation import InvalidInputError


class EpochSteps:
    """The training loader: the indices of one epoch's ``length`` batches (the batches themselves
    are drawn on the device), resumable mid-epoch through Lightning's ``state_dict`` protocol.

    Lightning saves ``state_dict()`` with each checkpoint and hands it back on resume; the resumed
    epoch then yields only its remaining batches, so epoch boundaries fall where they would have.
    The position is the number of batches whose training step has begun (``started``, set by the
    data module as each index reaches its step), not the number yielded: Lightning fetches one
    batch ahead.
    """

    def __init__(self, length: int) -> None:
        self.length = length
        self.started = 0
        self._resume_at = 0

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[int]:
        start, self._resume_at = self._resume_at, 0
        self.started = start
        return iter(range(start, self.length))

    def state_dict(self) -> dict[str, int]:
        return {"started": self.started}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self._resume_at = int(state_dict["started"]) % self.length


class GroundTruthDataModule(L.LightningDataModule):
    """Yields ``(images float32 [B, C, H, W], factors long [B, F])`` with factors drawn i.i.d.
    uniformly over the grid.

    ``standardise=True`` gives images standardised with the data set's constants (the paper's
    Table A2); ``False`` gives [0, 1] images, as BCE targets need. An "epoch" is ``steps_per_epoch``
    batches, by default one data set's worth; training length is set by the trainer's
    ``max_steps``. The generator state is saved in checkpoints, so a resumed run continues the
    same stream.
    """

    #: Constructor arguments the app injects (``overlapvae.experiment.build``), never config keys.
    injected: tuple[str, ...] = ("data", "standardise", "seed", "pair_mode")

    def __init__(
        self,
        data: GroundTruthData,
        standardise: bool,
        batch_size: int = 256,
        seed: int = 0,
        steps_per_epoch: int | None = None,
        pair_mode: str | None = None,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise InvalidInputError(f"batch_size={batch_size} is invalid: choose an integer >= 1")
        if steps_per_epoch is not None and steps_per_epoch < 1:
            raise InvalidInputError(f"steps_per_epoch={steps_per_epoch} is invalid: choose >= 1 or null")
        self.data = data
        self.batch_size = batch_size
        self.seed = seed
        self.standardise = standardise
        self.steps_per_epoch = steps_per_epoch or math.ceil(data.num_observations / batch_size)
        if pair_mode is not None:
            check_pair_mode(pair_mode)
        self.pair_mode = pair_mode
        self._generator: torch.Generator | None = None
        self._pending_state: dict[str, Any] | None = None
        self._loader: EpochSteps | None = None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.data.image_shape

    @property
    def num_observations(self) -> int:
        return self.data.num_observations

    def _device(self) -> torch.device:
        trainer = self.trainer
        return trainer.strategy.root_device if trainer is not None else torch.device("cpu")

    def _rank(self) -> int:
        return self.trainer.global_rank if self.trainer is not None else 0

    def generator(self) -> torch.Generator:
        """The sampling generator on the training device, seeded from ``(seed, "data", rank)``.

        A resumed run continues the checkpoint's stream. Under DDP the checkpoint holds rank 0's
        stream only, so every other rank restarts from ``(seed, "data", rank, step)``: the ranks
        keep drawing different batches.
        """
        if self._generator is None:
            rank = self._rank()
            self._generator = torch.Generator(device=self._device())
            self._generator.manual_seed(derive_seed(self.seed, "data", rank))
            pending, self._pending_state = self._pending_state, None
            if pending is not None and pending["rank"] != rank:
                step = self.trainer.global_step if self.trainer is not None else 0
                self._generator.manual_seed(derive_seed(self.seed, "data", rank, step))
            elif pending is not None:
                try:
                    self._generator.set_state(pending["generator"])
                except RuntimeError:
                    warnings.warn(
                        "the checkpoint's data stream was saved on another device type and cannot be "
                        "restored here; the stream restarts from the run's seed",
                        stacklevel=2,
                    )
        return self._generator

    def setup(self, stage: str) -> None:
        """Start the stream afresh on the training device (batches drawn before ``fit`` don't count)."""
        self._generator = None

    def train_dataloader(self) -> EpochSteps:
        self._loader = EpochSteps(self.steps_per_epoch)
        return self._loader

    def sample_batch(self) -> tuple[Tensor, Tensor]:
        """Draw and render one batch on the training device: ``[B, C, H, W]`` images and ``[B, F]``
        factors, or with a ``pair_mode`` ``[B, 2, C, H, W]`` and ``[B, 2, F]`` (B pairs)."""
        if self.pair_mode is None:
            factors = self.data.sample_factors(self.batch_size, self.generator())
            return self.data.render_float(factors, self.standardise), factors
        pairs = sample_pairs(self.data, self.batch_size, self.generator(), self.pair_mode)
        images = self.data.render_float(pairs.flatten(0, 1), self.standardise)
        return images.unflatten(0, pairs.shape[:2]), pairs

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> tuple[Tensor, Tensor]:
        """``batch`` is the step's index in its epoch, handed over just before its training step."""
        if self._loader is not None and isinstance(batch, int):
            self._loader.started = batch + 1
        return self.sample_batch()

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator().get_state(), "rank": self._rank()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._generator = None
        self._pending_state = {"generator": state_dict["generator"], "rank": state_dict.get("rank", 0)}
