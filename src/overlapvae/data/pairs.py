"""Ground-truth pairs for weak supervision (Ada-GVAE; the paper's §5.1), drawn as batches.

The second observation of a pair differs from the first in a random set of factors:

- ``paper_code``, what the paper's runs did (disent's ``GroundTruthPairOrigSampler``, after
  disentanglement_lib): ``k_max ~ U{1, …, F−1}``, then ``k = 1`` or ``k = k_max`` with
  probability ½ each; ``k`` distinct factors are resampled uniformly, so one may keep its value
  and the pair can differ in fewer than ``k`` factors.
- ``paper_text``, what the paper wrote: ``k ~ U{1, …, F}`` distinct factors, each moved to a
  different value, so the pair differs in exactly ``k`` factors.

Only factors with more than one value count towards F (a constant factor cannot change).
"""

from __future__ import annotations

from typing import Literal, get_args
import torch
from torch import Tensor

from overlapvae.data.base import GroundTruthData
from overlapvae.utils.validation import InvalidInputError

PairMode = Literal["paper_code", "paper_text"]
PAIR_MODES = get_args(PairMode)


def check_pair_mode(mode: str) -> None:
    if mode not in PAIR_MODES:
        raise InvalidInputError(f"pair_sampling={mode!r} is invalid: choose one of {', '.join(PAIR_MODES)}")


def number_to_change(mode: str, batch_size: int, num_factors: int, generator: torch.Generator) -> Tensor:
    """``k`` per pair (``[B]``, long) under ``mode``."""
    device = generator.device
    if mode == "paper_text":
        return torch.randint(1, num_factors + 1, (batch_size,), generator=generator, device=device)
    k_max = torch.randint(1, max(num_factors, 2), (batch_size,), generator=generator, device=device)
    pick_one = torch.rand(batch_size, generator=generator, device=device) < 0.5
    return torch.where(pick_one, torch.ones_like(k_max), k_max)


def sample_pairs(
    data: GroundTruthData, batch_size: int, generator: torch.Generator, mode: str = "paper_code"
) -> Tensor:
    """Factors of ``batch_size`` pairs, ``[B, 2, F]`` (long), on the generator's device."""
    check_pair_mode(mode)
    device = generator.device
    sizes = torch.as_tensor(data.factor_sizes, device=device)
    varying = sizes > 1
    num_varying = int(varying.sum())
    if num_varying == 0:
        raise InvalidInputError("every factor of this data set has one value: no pair can differ")
    first = data.sample_factors(batch_size, generator)
    k = number_to_change(mode, batch_size, num_varying, generator)
    # a uniformly random order of the varying factors per pair; the first k of it change
    scores = torch.rand(batch_size, len(sizes), generator=generator, device=device).masked_fill(~varying, 2.0)
    order = scores.argsort(dim=1).argsort(dim=1)
    chosen = order < k[:, None]
    uniform = torch.rand(batch_size, len(sizes), generator=generator, device=device)
    if mode == "paper_code":
        replacement = (uniform * sizes).long().clamp(max=sizes - 1)
    else:  # a different value: shift by 1 … size−1
        shift = 1 + (uniform * (sizes - 1).clamp(min=1)).long().clamp(max=(sizes - 2).clamp(min=0))
        replacement = (first + shift) % sizes
    second = torch.where(chosen, replacement, first)
    return torch.stack([first, second], dim=1)
