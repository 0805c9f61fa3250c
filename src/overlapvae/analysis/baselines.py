"""What a reconstruction loss makes of a data set before any model: the best constant image (a
decoder that ignores its code can do no better) and the loss's scale against MSE's.

- :func:`constant_baseline`: the loss's best constant image over a seeded sample of observations
  (the per-pixel mean for MSE, the median for L1, ...; ``ReconstructionLoss.best_constant``) and its
  mean error. A run whose reconstructions are no better has learnt nothing about the data.
- :func:`matched_scale`: the factor that gives random pairs of observations the same mean
  perceived distance under the loss as under MSE, on the scale the model trains on. On binary
  images |a − b| = (a − b)² per element up to the step between the two values, so the factor is that
  step: 1 on [0, 1] images and 1/σ (√65 for XYSquares) when standardised by σ.

Both are measured once per data set, loss and standardisation: the ``cached_*`` forms keep them in
a directory (``paths.cache_dir``), keyed by the data set's and the loss's fingerprints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from overlapvae.analysis.distances import items_per_chunk
from overlapvae.analysis.importance import pair_distances, random_pairs
from overlapvae.data import GroundTruthData
from overlapvae.losses import MSELoss, ReconstructionLoss
from overlapvae.utils.cache import cached
from overlapvae.utils.validation import InvalidInputError

#: Observations the best constant image is fitted on, and random pairs the matched scale is
#: measured on (both drawn with ``MEASUREMENT_SEED``).
BASELINE_IMAGES = 4096
SCALE_PAIRS = 10_000
MEASUREMENT_SEED = 0


@dataclass(frozen=True)
class ConstantBaseline:
    """The best constant raw output ``image [C, H, W]`` of a loss on a data set, its mean per-sample
    ``error`` over the ``num_images`` observations it was fitted on, and the range of their values
    (max − min, on the scale the model sees)."""

    image: Tensor
    error: float
    value_range: float
    num_images: int


@torch.no_grad()
def constant_errors(loss: ReconstructionLoss, image: Tensor, images: Tensor) -> Tensor:
    """``loss.sample_errors`` of one raw output ``[C, H, W]`` given for each of ``images [N, C, H, W]``,
    in chunks that bound memory: ``[N]``."""
    chunk = items_per_chunk(images[0].numel())
    return torch.cat([loss.sample_errors(image.expand_as(part), part) for part in images.split(chunk)])


@torch.no_grad()
def render_sample(
    data: GroundTruthData, num_images: int, standardise: bool, generator: torch.Generator
) -> Tensor:
    """``num_images`` uniformly drawn observations as the model sees them, ``float32 [N, C, H, W]``."""
    factors = data.sample_factors(num_images, generator)
    chunk = items_per_chunk(math.prod(data.image_shape))
    return torch.cat([data.render_float(part, standardise) for part in factors.split(chunk)])


def constant_baseline(
    data: GroundTruthData, loss: ReconstructionLoss, standardise: bool, num_images: int = BASELINE_IMAGES
) -> ConstantBaseline:
    """The loss's best constant image over ``num_images`` observations and its mean error there."""
    if num_images < 1:
        raise InvalidInputError(f"num_images={num_images} is invalid: choose an integer >= 1")
    images = render_sample(data, num_images, standardise, torch.Generator().manual_seed(MEASUREMENT_SEED))
    image = loss.best_constant(images)
    error = float(constant_errors(loss, image, images).double().mean())
    value_range = float(images.max() - images.min())
    return ConstantBaseline(image.float().cpu(), error, value_range, num_images)


def matched_scale(
    data: GroundTruthData, loss: ReconstructionLoss, standardise: bool, num_pairs: int = SCALE_PAIRS
) -> float:
    """``mean d_reference / mean d_loss`` over ``num_pairs`` random pairs of observations (reference:
    MSE): the scale under which the loss perceives random pairs as far apart as MSE does."""
    if num_pairs < 1:
        raise InvalidInputError(f"num_pairs={num_pairs} is invalid: choose an integer >= 1")
    generator = torch.Generator().manual_seed(MEASUREMENT_SEED)
    losses = {"reference": MSELoss(), "loss": loss}
    distances = pair_distances(data, losses, *random_pairs(data, num_pairs, generator), standardise)
    scale = distances.mean_ratio("reference", "loss")
    if scale is None:
        raise InvalidInputError(
            f"{type(loss).__name__} sees no difference between {num_pairs} random pairs of this data "
            "set, so no scale can match it to MSE: set match_scale=false"
        )
    return scale


def measurement_key(data: GroundTruthData, loss: ReconstructionLoss, standardise: bool, size: int) -> dict:
    """What a measurement on data under a loss depends on."""
    return {
        "data": data.fingerprint(),
        "loss": loss.fingerprint(),
        "standardise": standardise,
        "size": size,
        "seed": MEASUREMENT_SEED,
    }


def cached_constant_baseline(
    data: GroundTruthData, loss: ReconstructionLoss, standardise: bool, cache_dir: str | Path | None
) -> ConstantBaseline:
    """:func:`constant_baseline` at the default sample, measured once per data set, loss and
    standardisation and kept in ``cache_dir`` (``None``: not kept)."""
    key = measurement_key(data, loss, standardise, BASELINE_IMAGES)

    def measure() -> dict:
        baseline = constant_baseline(data, loss, standardise)
        return {"image": baseline.image, "error": baseline.error, "value_range": baseline.value_range}

    value = cached(cache_dir, "constant_baseline", key, measure)
    return ConstantBaseline(
        value["image"], float(value["error"]), float(value["value_range"]), BASELINE_IMAGES
    )


def cached_matched_scale(
    data: GroundTruthData, loss: ReconstructionLoss, standardise: bool, cache_dir: str | Path | None
) -> float:
    """:func:`matched_scale` at the default sample, measured once per data set, loss and
    standardisation and kept in ``cache_dir`` (``None``: not kept)."""
    key = measurement_key(data, loss, standardise, SCALE_PAIRS)
    return float(cached(cache_dir, "matched_scale", key, lambda: matched_scale(data, loss, standardise)))
