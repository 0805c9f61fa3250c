"""A small fully-connected encoder/decoder for fast tests and any image size."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from torch import nn

from overlapvae.models.autoencoder import AutoEncoderModel, check_model_arguments
from overlapvae.utils.validation import InvalidInputError


def _mlp(sizes: Sequence[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU(inplace=True))
    return layers


class FullyConnected(AutoEncoderModel):
    """Flatten → ``hidden_sizes`` (ReLU) → heads·z, and the mirrored decoder back to C × H × W."""

    def __init__(
        self,
        image_shape: Sequence[int],
        latent_size: int = 25,
        encoder_heads: int = 1,
        hidden_sizes: Sequence[int] = (256,),
    ) -> None:
        image_shape = tuple(image_shape)
        check_model_arguments(image_shape, latent_size, encoder_heads)
        if any(size < 1 for size in hidden_sizes):
            raise InvalidInputError(f"hidden_sizes={list(hidden_sizes)} is invalid: every size must be >= 1")
        pixels = math.prod(image_shape)
        encoder = nn.Sequential(nn.Flatten(), *_mlp([pixels, *hidden_sizes, encoder_heads * latent_size]))
        decoder = nn.Sequential(
            *_mlp([latent_size, *reversed(hidden_sizes), pixels]), nn.Unflatten(1, image_shape)
        )
        super().__init__(encoder, decoder, image_shape, latent_size, encoder_heads)
